using System.Runtime.CompilerServices;
using RtRuntime.Tasks;

namespace RtRuntime.PerCpu;

/// <summary>The awaitable of <see cref="LocalLock.LockAsync"/>: completed at once unless the lock is contended (Rt model).</summary>
public readonly struct LocalLockAwaitable : ICriticalNotifyCompletion
{
    private readonly LocalLockGuard _guard;
    private readonly bool _acquired;

    private LocalLockAwaitable(LocalLockGuard guard, bool acquired)
    {
        _guard = guard;
        _acquired = acquired;
    }

    internal static LocalLockAwaitable Acquired(LocalLockGuard guard) => new(guard, true);

    internal static LocalLockAwaitable Contended(LocalLockGuard guard) => new(guard, false);

    /// <summary>Returns this awaitable.</summary>
    public LocalLockAwaitable GetAwaiter() => this;

    /// <summary>True when the lock was free.</summary>
    public bool IsCompleted => _acquired;

    /// <summary>The held lock; throws <see cref="OperationCanceledException"/> when the wait was cancelled (the migrate-disable is undone).</summary>
    public LocalLockGuard GetResult()
    {
        RtTask task = _guard.Task!;
        if (!_acquired && task.WaitCancelled)
        {
            task.WaitCancelled = false;
            _guard.Migrate.Dispose();
            RtScheduler.ThrowCancelled(task);
        }

        return _guard;
    }

    /// <inheritdoc/>
    public void OnCompleted(Action continuation) => UnsafeOnCompleted(continuation);

    /// <inheritdoc/>
    public void UnsafeOnCompleted(Action continuation)
    {
        LocalLockState state = _guard.State!;
        state.Lock.Block(state, _guard.Task!, continuation);
    }
}
