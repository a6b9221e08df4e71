using BenchmarkDotNet.Attributes;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Benchmarks;

/// <summary>
/// A same-CPU handoff through an event: two tasks of equal priority on one CPU wake each other through
/// two auto-reset <see cref="RtEvent"/>s N times (each handoff: set, block, switch); against two async
/// loops handing off through two <see cref="SemaphoreSlim"/>s on the ThreadPool. ns/op is per handoff.
/// The timed variant waits with a timeout that never passes, so each block also arms a timer on the
/// CPU's timer queue and each resume disarms it.
/// </summary>
public class EventHandoffBenchmarks : OneCpuBenchmark
{
    private const int N = 100_000;

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
        RtTask b = Rt.Spawn("pong", 50, async ctx =>
        {
            for (int i = 0; i < N; i++)
            {
                await toB.WaitAsync(ctx);
                toA.Set();
            }
        }, SchedPolicy.Fifo, CpuSet.Of(0));
        RtTask a = Rt.Spawn("ping", 50, async ctx =>
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

    [Benchmark(OperationsPerInvoke = 2 * N)]
    public void RtEventTimedHandoffSameCpu()
    {
        var toA = new RtEvent(autoReset: true);
        var toB = new RtEvent(autoReset: true);
        var hour = TimeSpan.FromHours(1);
        RtTask b = Rt.Spawn("pong", 50, async ctx =>
        {
            for (int i = 0; i < N; i++)
            {
                _ = await toB.WaitAsync(ctx, hour);
                toA.Set();
            }
        }, SchedPolicy.Fifo, CpuSet.Of(0));
        RtTask a = Rt.Spawn("ping", 50, async ctx =>
        {
            for (int i = 0; i < N; i++)
            {
                toB.Set();
                _ = await toA.WaitAsync(ctx, hour);
            }
        }, SchedPolicy.Fifo, CpuSet.Of(0));
        a.AsTask().GetAwaiter().GetResult();
        b.AsTask().GetAwaiter().GetResult();
    }
}
