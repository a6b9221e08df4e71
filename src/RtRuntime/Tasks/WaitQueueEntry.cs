using System.Threading.Tasks.Sources;
using RtRuntime.Cpus;

namespace RtRuntime.Tasks;

/// <summary>
/// The ValueTask source of every wait on an <see cref="RtWaitQueue"/>: the kernel's
/// <c>wait_queue_entry</c>, one instance for the process. A wait's awaiter leaves its queue and
/// timeout on the calling CPU and carries this source with that CPU's token; when the body suspends,
/// this source lists the task running there on the queue (and arms its timeout). As with
/// <see cref="HrTimerSleeper"/>, a task blocked through a source keeps no continuation delegate.
/// </summary>
internal sealed class WaitQueueEntry : IValueTaskSource, IValueTaskSource<bool>
{
    /// <summary>The one instance: the waiting task is found from the calling CPU thread.</summary>
    public static readonly WaitQueueEntry Instance = new();

    private WaitQueueEntry()
    {
    }

    /// <summary>Always pending: a wait that completes at once never reaches the source (its awaiter is a completed one).</summary>
    public ValueTaskSourceStatus GetStatus(short token) => ValueTaskSourceStatus.Pending;

    /// <summary>Blocks the current task on the queue its awaiter left on this CPU (with the timeout, if any).</summary>
    /// <exception cref="InvalidOperationException">Called off a CPU thread (an awaiter completed by hand on another thread).</exception>
    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        if (Cpu.TakeBlockOfCurrent(token, onQueue: true, out RtTask task, out RtWaitQueue? queue, out long deadlineNs))
        {
            queue!.Block(task, continuation, state, deadlineNs);
        }
    }

    /// <summary>The end of a wait without a timeout (<see cref="RtWaitQueue.WaitAsync(TaskContext)"/>).</summary>
    /// <exception cref="OperationCanceledException">The wait ended by cancellation.</exception>
    /// <exception cref="InvalidOperationException">An <see cref="RtMutex"/> refused the wait: the task holds it, or its wait would close a deadlock.</exception>
    /// <exception cref="InvalidOperationException">Asked before the wait was awaited (a synchronous GetResult).</exception>
    public void GetResult(short token) => _ = Resume(token);

    /// <summary>The end of a timed wait: true when it got the resource, false when the deadline passed first.</summary>
    /// <exception cref="OperationCanceledException">The wait ended by cancellation.</exception>
    /// <exception cref="InvalidOperationException">An <see cref="RtMutex"/> refused the wait: the task holds it, or its wait would close a deadlock.</exception>
    /// <exception cref="InvalidOperationException">Asked before the wait was awaited (a synchronous GetResult).</exception>
    bool IValueTaskSource<bool>.GetResult(short token)
    {
        RtTask task = Resume(token);
        if (task.RareOrNull is { WaitTimedOut: true } rare)
        {
            rare.WaitTimedOut = false;
            return false;
        }

        return true;
    }

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => ValueTaskSourceStatus.Pending;

    private static RtTask Resume(short token)
    {
        RtTask task = Cpu.ResumingFromBlock(token);
        Cpu.DisarmWaitTimeout(task); // the timeout of a wait that was granted or cancelled first
        if (task.BlockedOn is not null && task.Continuation is null)
        {
            // Resumed after a grant (the step took the continuation it resumes): the permit or signal is
            // this flow's. A wait that completed at once, while another flow of the task is suspended
            // in a wait (its continuation still held), never gets here: its awaiter was a completed one.
            RtWaitQueue.TakeGrant(task);
        }

        if (task.WaitCancelled)
        {
            task.WaitCancelled = false;
            RtScheduler.ThrowCancelled(task);
        }

        if (task.RareOrNull is { WaitDeadlock: { } refusal } rare)
        {
            rare.WaitDeadlock = null;
            throw task.Scheduler.RefusedMutexWait(task, refusal);
        }

        return task;
    }
}
