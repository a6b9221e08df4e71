using System.Runtime.CompilerServices;

namespace RtRuntime.Tasks;

/// <summary>The awaitable of <see cref="RtWaitQueue.WaitAsync(TaskContext)"/>.</summary>
public readonly struct RtWaitAwaitable : ICriticalNotifyCompletion
{
    private readonly RtWaitQueue _queue;
    private readonly RtTask _task;

    internal RtWaitAwaitable(RtWaitQueue queue, RtTask task)
    {
        _queue = queue;
        _task = task;
    }

    /// <summary>Returns this awaitable.</summary>
    public RtWaitAwaitable GetAwaiter() => this;

    /// <summary>True when the resource was available at once (it is then taken).</summary>
    public bool IsCompleted
    {
        get
        {
            _task.ThrowIfNotCurrent(); // awaited off the task's CPU thread, it would block a task that is not running
            return _task.CancelFlag == 0 && _queue.TryTakeNow();
        }
    }

    /// <summary>Throws <see cref="OperationCanceledException"/> when the wait ended by cancellation.</summary>
    public void GetResult()
    {
        if (_task.BlockedOn is not null && _task.Continuation is null)
        {
            // Resumed after a grant (the step took the continuation it resumes): the permit or signal is
            // this flow's. A wait that completed at once, while another flow of the task is suspended
            // in a wait (its continuation still held), leaves that flow's BlockedOn alone.
            RtWaitQueue.TakeGrant(_task);
        }

        if (_task.WaitCancelled)
        {
            _task.WaitCancelled = false;
            RtScheduler.ThrowCancelled(_task);
        }
    }

    /// <inheritdoc/>
    public void OnCompleted(Action continuation) => _queue.Block(_task, continuation);

    /// <inheritdoc/>
    public void UnsafeOnCompleted(Action continuation) => _queue.Block(_task, continuation);
}
