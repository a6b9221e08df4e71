[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

namespace RtRuntime.Compare;

/// <summary>Entry point: <c>dotnet run -c Release --project perf/compare -- [--quick] [--out docs/benchmarks-compare.md]</c>.</summary>
internal static class Program
{
    public static Task<int> Main(string[] args) => CompareCli.RunAsync(args, Console.Out, Console.Error);
}
