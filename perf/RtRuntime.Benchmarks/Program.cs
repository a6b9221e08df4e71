using BenchmarkDotNet.Running;

namespace RtRuntime.Benchmarks;

/// <summary>
/// BenchmarkDotNet entry point: `dotnet run -c Release --project perf/RtRuntime.Benchmarks -- --filter '*'`
/// (add `--job short` for a quick pass). See docs/benchmarks.md for results and the exact commands.
/// </summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
