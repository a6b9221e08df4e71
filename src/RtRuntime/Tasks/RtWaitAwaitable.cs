using System.Runtime.CompilerServices;

namespace RtRuntime.Tasks;

/// <summary>
/// The awaitable of <see cref="RtWaitQueue.WaitAsync(TaskContext)"/>. Its awaiter is a
/// <see cref="ValueTaskAwaiter"/> over the runtime's wait source, which costs the waiting task no
/// continuation delegate.
/// Its awaiter is for <c>await</c>: its <c>IsCompleted</c> is not a poll of the deadline or the resource, and asking its result before awaiting it throws.
/// </summary>
public readonly struct RtWaitAwaitable
{
    private readonly RtWaitQueue _queue;
    private readonly RtTask _task;

    internal RtWaitAwaitable(RtWaitQueue queue, RtTask task)
    {
        _queue = queue;
        _task = task;
    }

    /// <summary>
    /// A completed awaiter when the resource was available at once (it is then taken); otherwise one
    /// that blocks the task in priority order until it is granted (and throws
    /// <see cref="OperationCanceledException"/> when the wait ended by cancellation).
    /// </summary>
    /// <exception cref="InvalidOperationException">Awaited off the task's CPU thread: it would block a task that is not running; or awaited preempt-disabled (scheduling while atomic); or an <see cref="RtMutex"/> the task holds now (not recursive).</exception>
    public ValueTaskAwaiter GetAwaiter()
    {
        _task.ThrowIfNotCurrent();
        // Again at the await: a wait made preemptible and awaited inside a preempt-disabled section would
        // sleep there unreported (might_sleep in wait_event/down checks where the task sleeps).
        _task.Scheduler.ThrowIfAtomic(_task, "Wait");
        return (_task.CancelFlag == 0 && _queue.TryTakeNow(_task)
            ? default
            : new ValueTask(WaitQueueEntry.Instance, _task.Cpu!.PrepareBlock(_queue, long.MaxValue))).GetAwaiter();
    }
}
