using BenchmarkDotNet.Attributes;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Benchmarks;

/// <summary>
/// A same-CPU handoff through an event: two tasks of equal priority on one CPU wake each other through
/// two auto-reset <see cref="RtEvent"/>s N times (each handoff: set, block, switch); against two async
/// loops handing off through two <see cref="SemaphoreSlim"/>s on the ThreadPool. ns/op is per handoff.
/// </summary>
public class EventHandoffBenchmarks
{
    private const int N = 100_000;
    private RtScheduler _rt = null!;

    [GlobalSetup]
    public void Setup() => _rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1 });

    [GlobalCleanup]
    public void Cleanup() => _rt.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(Baseline = true, OperationsPerInvoke = 2 * N)]
    public void ThreadPoolSemaphoreHandoff()
    {
        using var toA = new SemaphoreSlim(0);
        using var toB = new SemaphoreSlim(0);
        Task b = Task.Run(async () =>
        {
            for (int i = 0; i < N; i++)
            {
                await toB.WaitAsync();
                toA.Release();
            }
        });
        Task a = Task.Run(async () =>
        {
            for (int i = 0; i < N; i++)
            {
                toB.Release();
                await toA.WaitAsync();
            }
        });
        Task.WaitAll(a, b);
    }

    [Benchmark(OperationsPerInvoke = 2 * N)]
    public void RtEventHandoffSameCpu()
    {
        var toA = new RtEvent(autoReset: true);
        var toB = new RtEvent(autoReset: true);
        RtTask b = _rt.Spawn("pong", 50, async ctx =>
        {
            for (int i = 0; i < N; i++)
            {
                await toB.WaitAsync(ctx);
                toA.Set();
            }
        }, SchedPolicy.Fifo, CpuSet.Of(0));
        RtTask a = _rt.Spawn("ping", 50, async ctx =>
        {
            for (int i = 0; i < N; i++)
            {
                toB.Set();
                await toA.WaitAsync(ctx);
            }
        }, SchedPolicy.Fifo, CpuSet.Of(0));
        a.AsTask().GetAwaiter().GetResult();
        b.AsTask().GetAwaiter().GetResult();
    }
}
