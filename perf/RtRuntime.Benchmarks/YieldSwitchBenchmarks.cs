using BenchmarkDotNet.Attributes;

namespace RtRuntime.Benchmarks;

/// <summary>
/// A same-CPU switch through yield: two tasks of equal priority on one CPU yield to each other N
/// times each; against two async loops doing `await Task.Yield()` on the ThreadPool. ns/op is CPU
/// time per yield, as perf/compare's yield row counts it: the two tasks share one CPU (elapsed / 2N),
/// while the ThreadPool runs its two loops at once on two pool threads (elapsed / N: two threads' time
/// for 2N yields). Divided by 2N, the baseline reported half its cost per yield.
/// </summary>
public class YieldSwitchBenchmarks : OneCpuBenchmark
{
    private const int N = 100_000;

    [Benchmark(Baseline = true, OperationsPerInvoke = N)]
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
