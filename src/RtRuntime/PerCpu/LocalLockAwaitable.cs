using System.Runtime.CompilerServices;
using RtRuntime.Tasks;

namespace RtRuntime.PerCpu;

/// <summary>The awaitable of <see cref="LocalLock.LockAsync"/>: completed at once unless the lock is contended (Rt model).</summary>
public readonly struct LocalLockAwaitable : ICriticalNotifyCompletion
{
    private readonly LocalLockState _state;
    private readonly RtTask _task;

    // The acquisition's number (LocalLockState.Taken, an int) when the lock was free; below int.MinValue
    // when it was held: then int.MinValue minus the number of the task's wait (RtTaskRare.LocalLockWaits),
    // and the acquisition's number is read once the task has the lock.
    private readonly long _taken;

    /// <summary>A lock taken at once: <paramref name="taken"/> is the acquisition's number (<see cref="LocalLockState.Taken"/>).</summary>
    internal LocalLockAwaitable(LocalLockState state, RtTask task, int taken)
        : this(state, task, (long)taken)
    {
    }

    private LocalLockAwaitable(LocalLockState state, RtTask task, long taken)
    {
        _state = state;
        _task = task;
        _taken = taken;
    }

    /// <summary>A held lock the task is to wait for: <paramref name="wait"/> is the number of its wait (1 or more).</summary>
    internal static LocalLockAwaitable Waiting(LocalLockState state, RtTask task, int wait) => new(state, task, (long)int.MinValue - wait);

    private bool Acquired => _taken >= int.MinValue;

    private int Wait => (int)((long)int.MinValue - _taken);

    /// <summary>Returns this awaitable.</summary>
    /// <exception cref="InvalidOperationException">
    /// A contended lock awaited off the task's CPU thread (after a ConfigureAwait(false)): its wait
    /// would block, or take the lock for, a task that is not running, which nothing would then wake.
    /// The wait's migrate-disable stays counted until the task ends. Or a contended lock's awaitable
    /// awaited a second time: while the task holds the lock its first await took (it would wait for
    /// itself), or after that wait ended otherwise (refused or cancelled: its migrate-disable is undone,
    /// so a second wait would hold the lock unpinned), or after a later LockAsync of the task.
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

            if (_task.RareOrNull?.PendingLocalLockWait != Wait)
            {
                throw new InvalidOperationException(
                    $"Task '{_task.Name}' awaited a LockAsync result for cpu{_state.Cpu.Id}'s {_state.Lock.Name} whose wait is over (it took the lock, was refused or was cancelled) or that a later LockAsync replaced: await each LockAsync result once, before the next LockAsync.");
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

        _task.Rare.PendingLocalLockWait = 0; // this wait is over, whatever its end: its awaitable is not awaited again

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
