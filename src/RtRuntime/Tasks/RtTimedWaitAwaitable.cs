using System.Runtime.CompilerServices;
using RtRuntime.Cpus;

namespace RtRuntime.Tasks;

/// <summary>
/// The awaitable of <see cref="RtWaitQueue.WaitAsync(TaskContext, TimeSpan)"/> and
/// <see cref="RtWaitQueue.WaitUntilAsync"/>: true when the wait got the resource, false when its
/// deadline passed first. Its awaiter is a <see cref="ValueTaskAwaiter{TResult}"/> over the runtime's
/// wait source, which costs the waiting task no continuation delegate.
/// Its awaiter is for <c>await</c>: its <c>IsCompleted</c> is not a poll of the deadline or the resource, and asking its result before awaiting it throws.
/// </summary>
/// <remarks>
/// A wait that completes at once has its outcome in a completed awaiter, so that it never touches the
/// task's timer or timed-out flag, which belong to a wait that suspended: another flow of the task (a
/// posted continuation) may try-take while the body's flow is blocked in a timed wait.
/// </remarks>
public readonly struct RtTimedWaitAwaitable
{
    private readonly RtWaitQueue _queue;
    private readonly RtTask _task;
    private readonly long _deadlineNs;

    internal RtTimedWaitAwaitable(RtWaitQueue queue, RtTask task, long deadlineNs)
    {
        _queue = queue;
        _task = task;
        _deadlineNs = deadlineNs;
    }

    /// <summary>
    /// A completed awaiter when the resource was available at once (true; it is then taken) or the
    /// deadline has already passed (false); otherwise one that blocks the task until it is granted or
    /// the deadline passes (and throws <see cref="OperationCanceledException"/> when the wait ended by
    /// cancellation).
    /// </summary>
    /// <exception cref="InvalidOperationException">Awaited off the task's CPU thread: it would block a task that is not running; or awaited preempt-disabled (scheduling while atomic); or an <see cref="RtMutex"/> the task holds now (not recursive). From the result: an <see cref="RtMutex"/> refused the wait (it would close a deadlock).</exception>
    public ValueTaskAwaiter<bool> GetAwaiter()
    {
        _task.ThrowIfNotCurrent();
        // Again at the await: a wait made preemptible and awaited inside a preempt-disabled section would
        // sleep there unreported (might_sleep in wait_event/down checks where the task sleeps).
        _task.Scheduler.ThrowIfAtomic(_task, "Wait");
        if (_task.CancelFlag == 0)
        {
            if (_queue.TryTakeNow(_task))
            {
                return new ValueTask<bool>(true).GetAwaiter();
            }

            if (RtClock.NowNs() >= _deadlineNs)
            {
                return new ValueTask<bool>(false).GetAwaiter();
            }
        }

        // Cancelled: the source still takes the resource if it is available (as down_interruptible and
        // wait_event_interruptible test their condition before a pending signal), else it resumes the
        // task at once and the result throws.
        return new ValueTask<bool>(WaitQueueEntry.Instance, _task.Cpu!.PrepareBlock(_queue, _deadlineNs)).GetAwaiter();
    }
}
