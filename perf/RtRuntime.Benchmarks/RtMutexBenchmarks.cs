using BenchmarkDotNet.Attributes;
using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Benchmarks;

/// <summary>
/// An uncontended <see cref="RtMutex"/> lock+unlock (try-lock and awaited) by one task alone on its
/// CPU, against the runtime's other locks (an Rt <see cref="LocalLock"/>, an <see cref="RtSemaphore"/>
/// of one permit, which has no owner to boost) and .NET's (<see cref="Lock"/>, <see cref="SemaphoreSlim"/>)
/// in the same task, and the empty loop. ns/op is per pair.
/// </summary>
public class RtMutexBenchmarks
{
    private const int N = 1_000_000;
    private RtScheduler _rt = null!;
    private RtMutex _mutex = null!;
    private LocalLock _localLock = null!;
    private RtSemaphore _semaphore = null!;
    private readonly Lock _dotnetLock = new();
    private readonly SemaphoreSlim _semaphoreSlim = new(1, 1);

    [GlobalSetup]
    public void Setup()
    {
        _rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1 });
        _mutex = new RtMutex(_rt, "bench");
        _localLock = new LocalLock(_rt);
        _semaphore = new RtSemaphore(1, 1);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _rt.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _semaphoreSlim.Dispose();
    }

    [Benchmark(OperationsPerInvoke = N)]
    public void RtMutexTryLockPair() => Run(ctx =>
    {
        for (int i = 0; i < N; i++)
        {
            if (_mutex.TryLock(ctx, out RtMutexGuard guard))
            {
                guard.Dispose();
            }
        }

        return ValueTask.CompletedTask;
    });

    [Benchmark(OperationsPerInvoke = N)]
    public void RtMutexLockAsyncPair() => Run(async ctx =>
    {
        for (int i = 0; i < N; i++)
        {
            using (await _mutex.LockAsync(ctx))
            {
            }
        }
    });

    [Benchmark(OperationsPerInvoke = N)]
    public void LocalLockTryLockPairRt() => Run(ctx =>
    {
        for (int i = 0; i < N; i++)
        {
            if (_localLock.TryLock(ctx, out LocalLockGuard guard))
            {
                guard.Dispose();
            }
        }

        return ValueTask.CompletedTask;
    });

    [Benchmark(OperationsPerInvoke = N)]
    public void RtSemaphoreWaitReleasePair() => Run(async ctx =>
    {
        for (int i = 0; i < N; i++)
        {
            await _semaphore.WaitAsync(ctx);
            _semaphore.Release();
        }
    });

    [Benchmark(OperationsPerInvoke = N)]
    public void DotnetLockPair() => Run(_ =>
    {
        for (int i = 0; i < N; i++)
        {
            using (_dotnetLock.EnterScope())
            {
            }
        }

        return ValueTask.CompletedTask;
    });

    [Benchmark(OperationsPerInvoke = N)]
    public void SemaphoreSlimPair() => Run(_ =>
    {
        for (int i = 0; i < N; i++)
        {
            _semaphoreSlim.Wait();
            _semaphoreSlim.Release();
        }

        return ValueTask.CompletedTask;
    });

    [Benchmark(OperationsPerInvoke = N)]
    public void EmptyLoop() => Run(static _ =>
    {
        for (int i = 0; i < N; i++)
        {
        }

        return ValueTask.CompletedTask;
    });

    private void Run(Func<TaskContext, ValueTask> body) => _rt.Spawn("bench", 50, body).AsTask().GetAwaiter().GetResult();
}
