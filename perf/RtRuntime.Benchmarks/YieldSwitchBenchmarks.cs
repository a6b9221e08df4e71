using BenchmarkDotNet.Attributes;

namespace RtRuntime.Benchmarks;

/// <summary>
/// A same-CPU switch through yield: two tasks of equal priority on one CPU yield to each other N
/// times each; against two async loops doing `await Task.Yield()` on the ThreadPool. ns/op is per yield.
/// </summary>
public class YieldSwitchBenchmarks : OneCpuBenchmark
{
    private const int N = 100_000;

    [Benchmark(Baseline = true, OperationsPerInvoke = 2 * N)]
    public void ThreadPoolTaskYield()
    {
        static async Task Loop()
        {
            for (int i = 0; i < N; i++)
            {
                await Task.Yield();
            }
        }

        Task.WaitAll(Task.Run(Loop), Task.Run(Loop));
    }

    [Benchmark(OperationsPerInvoke = 2 * N)]
    public void RtYieldSameCpu() => YieldPair.Run(Rt, N);
}
