using System.Runtime.CompilerServices;
using RtRuntime.Tasks;

namespace RtRuntime.PerCpu;

/// <summary>The awaitable of <see cref="LocalLock.LockAsync"/>: completed at once unless the lock is contended (Rt model).</summary>
public readonly struct LocalLockAwaitable : ICriticalNotifyCompletion
{
    /// <summary>The <c>taken</c> of a lock that was held: the task waits for it, and its acquisition's number is read once it has it.</summary>
    internal const long NotAcquired = -1;

    private readonly LocalLockState _state;
    private readonly RtTask _task;
    private readonly long _taken;

    /// <summary><paramref name="taken"/>: the acquisition's number (<see cref="LocalLockState.Taken"/>) when the lock was free, else <see cref="NotAcquired"/>.</summary>
    internal LocalLockAwaitable(LocalLockState state, RtTask task, long taken)
    {
        _state = state;
        _task = task;
        _taken = taken;
    }

    private bool Acquired => _taken != NotAcquired;

    /// <summary>Returns this awaitable.</summary>
    /// <exception cref="InvalidOperationException">
    /// A contended lock awaited off the task's CPU thread (after a ConfigureAwait(false)): its wait
    /// would block, or take the lock for, a task that is not running, which nothing would then wake.
    /// The wait's migrate-disable stays counted until the task ends. Or a contended lock's awaitable
    /// awaited a second time while the task holds the lock its first await took: the task would wait
    /// for itself.
    /// </exception>
    public LocalLockAwaitable GetAwaiter()
    {
        if (!Acquired)
        {
            _task.ThrowIfNotCurrent(); // as the wait queues' awaitables refuse it; OnCompleted must not throw (the ThreadPool would rethrow it)
            if (_state.Owner == _task)
            {
                throw new InvalidOperationException(
                    $"Task '{_task.Name}' awaited a second time the LockAsync result that gave it cpu{_state.Cpu.Id}'s {_state.Lock.Name}, which it still holds: await a LockAsync result once.");
            }
        }

        return this;
    }

    /// <summary>True when the lock was free.</summary>
    public bool IsCompleted => Acquired;

    /// <summary>The held lock.</summary>
    /// <exception cref="OperationCanceledException">The wait was cancelled (the migrate-disable is undone).</exception>
    /// <exception cref="InvalidOperationException">
    /// Waiting would have closed a deadlock: the lock's holder waits, through local locks and RtMutexes,
    /// for one this task holds (the BUG <see cref="BugKind.Deadlock"/>, reported; nothing was taken, and
    /// the migrate-disable is undone).
    /// </exception>
    public LocalLockGuard GetResult()
    {
        if (Acquired)
        {
            return new LocalLockGuard(_state, _task, (int)_taken);
        }

        if (_task.WaitCancelled)
        {
            _task.WaitCancelled = false;
            MigrateGuard.LeaveUntracked(_task);
            RtScheduler.ThrowCancelled(_task);
        }

        if (_task.RareOrNull is { WaitDeadlock: { } refusal } rare)
        {
            rare.WaitDeadlock = null;
            throw _state.Lock.RefusedWait(_task, refusal);
        }

        return new LocalLockGuard(_state, _task, _state.Taken); // the task holds it now: nobody else takes it meanwhile
    }

    /// <inheritdoc/>
    public void OnCompleted(Action continuation) => UnsafeOnCompleted(continuation);

    /// <inheritdoc/>
    public void UnsafeOnCompleted(Action continuation) => _state.Lock.Block(_state, _task, continuation);
}
