using BenchmarkDotNet.Attributes;
using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Benchmarks;

/// <summary>
/// Per-CPU data on 2 busy CPUs: one task per CPU does N increments of (a) a PerCpuCounter, (b) one
/// shared counter with Interlocked.Increment, (c) its CPU's PerCpu&lt;long&gt; slot under one
/// MigrateDisable guard, or under a guard per increment (also with one task alone, for comparison:
/// two CPUs at once cost more, for a reason still open); plus a local lock's uncontended
/// lock+unlock in both models, awaited (<c>LockAsync</c>) and synchronous (<c>TryLock</c>,
/// local_trylock), on both CPUs at once and with one task alone. ns/op is per increment (or lock
/// pair) per task; in the two-CPU rows both tasks run at once.
/// </summary>
public class PerCpuBenchmarks
{
    private const int N = 1_000_000;
    private RtScheduler _rt = null!;
    private RtScheduler _nonRt = null!;
    private PerCpuCounter _counter = null!;
    private PerCpu<long> _slots = null!;
    private LocalLock _rtLock = null!;
    private LocalLock _nonRtLock = null!;
    private long _shared;

    [GlobalSetup]
    public void Setup()
    {
        _rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 2 });
        _nonRt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 2, Model = PreemptionModel.NonRt });
        _counter = new PerCpuCounter(_rt);
        _slots = new PerCpu<long>(_rt);
        _rtLock = new LocalLock(_rt);
        _nonRtLock = new LocalLock(_nonRt);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _rt.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _nonRt.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    private static void OnBothCpus(RtScheduler rt, Func<TaskContext, ValueTask> body)
    {
        var a = rt.Spawn("a", 50, body, affinity: Cpus.CpuSet.Of(0));
        var b = rt.Spawn("b", 50, body, affinity: Cpus.CpuSet.Of(1));
        a.AsTask().GetAwaiter().GetResult();
        b.AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = N)]
    public void SharedInterlockedIncrement() => OnBothCpus(_rt, ctx =>
    {
        for (int i = 0; i < N; i++)
        {
            Interlocked.Increment(ref _shared);
        }

        return ValueTask.CompletedTask;
    });

    [Benchmark(OperationsPerInvoke = N)]
    public void PerCpuCounterIncrement() => OnBothCpus(_rt, ctx =>
    {
        for (int i = 0; i < N; i++)
        {
            _counter.Increment(ctx);
        }

        return ValueTask.CompletedTask;
    });

    [Benchmark(OperationsPerInvoke = N)]
    public void ThisCpuSlotUnderGuard() => OnBothCpus(_rt, ctx =>
    {
        using (ctx.MigrateDisable())
        {
            ref long slot = ref _slots.ThisCpu(ctx);
            for (int i = 0; i < N; i++)
            {
                slot++;
            }
        }

        return ValueTask.CompletedTask;
    });

    [Benchmark(OperationsPerInvoke = N)]
    public void ThisCpuAccessUnderGuard() => OnBothCpus(_rt, ctx =>
    {
        using (ctx.MigrateDisable())
        {
            for (int i = 0; i < N; i++)
            {
                _slots.ThisCpu(ctx)++;
            }
        }

        return ValueTask.CompletedTask;
    });

    [Benchmark(OperationsPerInvoke = N)]
    public void ThisCpuIncrementGuardEach() => OnBothCpus(_rt, GuardEachIncrement);

    [Benchmark(OperationsPerInvoke = N)]
    public void ThisCpuIncrementGuardEachOneCpu() => OnCpu0(_rt, GuardEachIncrement);

    private ValueTask GuardEachIncrement(TaskContext ctx)
    {
        for (int i = 0; i < N; i++)
        {
            using (ctx.MigrateDisable())
            {
                _slots.ThisCpu(ctx)++;
            }
        }

        return ValueTask.CompletedTask;
    }

    [Benchmark(OperationsPerInvoke = N)]
    public void LocalLockPairRt() => OnBothCpus(_rt, async ctx =>
    {
        for (int i = 0; i < N; i++)
        {
            using (await _rtLock.LockAsync(ctx))
            {
            }
        }
    });

    [Benchmark(OperationsPerInvoke = N)]
    public void LocalLockPairNonRt() => OnBothCpus(_nonRt, async ctx =>
    {
        for (int i = 0; i < N; i++)
        {
            using (await _nonRtLock.LockAsync(ctx))
            {
            }
        }
    });

    [Benchmark(OperationsPerInvoke = N)]
    public void LocalLockTryLockPairRt() => OnBothCpus(_rt, ctx => TryLockPairs(_rtLock, ctx));

    [Benchmark(OperationsPerInvoke = N)]
    public void LocalLockTryLockPairNonRt() => OnBothCpus(_nonRt, ctx => TryLockPairs(_nonRtLock, ctx));

    /// <summary>The lock-pair loops without the lock (an empty counted loop, not removed by the JIT): what the pair adds is measured against it in the same run.</summary>
    [Benchmark(OperationsPerInvoke = N)]
    public void LocalLockLoopBaselineNonRt() => OnBothCpus(_nonRt, static ctx =>
    {
        for (int i = 0; i < N; i++)
        {
        }

        return ValueTask.CompletedTask;
    });

    // One task alone on CPU 0, as the guard pairs are measured (PreemptionPointBenchmarks): the
    // uncontended pair with the other CPU idle, against the same empty loop on one CPU.
    [Benchmark(OperationsPerInvoke = N)]
    public void LocalLockTryLockPairRtOneCpu() => OnCpu0(_rt, ctx => TryLockPairs(_rtLock, ctx));

    [Benchmark(OperationsPerInvoke = N)]
    public void LocalLockTryLockPairNonRtOneCpu() => OnCpu0(_nonRt, ctx => TryLockPairs(_nonRtLock, ctx));

    [Benchmark(OperationsPerInvoke = N)]
    public void LocalLockLoopBaselineNonRtOneCpu() => OnCpu0(_nonRt, static ctx =>
    {
        for (int i = 0; i < N; i++)
        {
        }

        return ValueTask.CompletedTask;
    });

    private static void OnCpu0(RtScheduler rt, Func<TaskContext, ValueTask> body) =>
        rt.Spawn("a", 50, body, affinity: Cpus.CpuSet.Of(0)).AsTask().GetAwaiter().GetResult();

    private static ValueTask TryLockPairs(LocalLock ll, TaskContext ctx)
    {
        for (int i = 0; i < N; i++)
        {
            if (ll.TryLock(ctx, out LocalLockGuard guard))
            {
                guard.Dispose();
            }
        }

        return ValueTask.CompletedTask;
    }
}
