using System.Runtime.CompilerServices;

namespace RtRuntime.Tasks;

/// <summary>The awaitable of <see cref="TaskContext.Yield"/>: always suspends to the tail of the task's priority.</summary>
public readonly struct YieldAwaitable : ICriticalNotifyCompletion
{
    private readonly RtTask _task;

    internal YieldAwaitable(RtTask task) => _task = task;

    /// <summary>Returns this awaitable.</summary>
    public YieldAwaitable GetAwaiter() => this;

    /// <summary>
    /// Always false: a yield always goes through the dispatcher. Throws when awaited off the task's CPU
    /// thread (made on it, awaited after a <c>ConfigureAwait(false)</c>): the task would never resume; and
    /// when awaited preempt-disabled (scheduling while atomic: one made preemptible may be awaited inside
    /// a section, where it would switch the task out).
    /// </summary>
    public bool IsCompleted
    {
        get
        {
            _task.ThrowIfNotCurrent();
            _task.Scheduler.ThrowIfAtomic(_task, "Yield");
            return false;
        }
    }

    /// <summary>Throws <see cref="OperationCanceledException"/> when the task was cancelled.</summary>
    public void GetResult()
    {
        if (_task.CancelFlag != 0)
        {
            RtScheduler.ThrowCancelled(_task);
        }
    }

    /// <inheritdoc/>
    public void OnCompleted(Action continuation) => _ = _task.Suspend(continuation, SuspendReason.Yield);

    /// <inheritdoc/>
    public void UnsafeOnCompleted(Action continuation) => _ = _task.Suspend(continuation, SuspendReason.Yield);
}
