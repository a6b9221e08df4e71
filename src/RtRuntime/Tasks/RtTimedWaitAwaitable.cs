using System.Runtime.CompilerServices;
using RtRuntime.Cpus;

namespace RtRuntime.Tasks;

/// <summary>
/// The awaitable of <see cref="RtWaitQueue.WaitAsync(TaskContext, TimeSpan)"/> and
/// <see cref="RtWaitQueue.WaitUntilAsync"/>: true when the wait got the resource, false when its
/// deadline passed first.
/// </summary>
/// <remarks>
/// Not readonly: a wait that completes at once keeps its outcome in the awaiter itself (the awaiting
/// code calls <see cref="IsCompleted"/> and <see cref="GetResult"/> on one copy), so that it never
/// touches the task's timer or timed-out flag, which belong to a wait that suspended: another flow of
/// the task (a posted continuation) may try-take while the body's flow is blocked in a timed wait.
/// </remarks>
public struct RtTimedWaitAwaitable : ICriticalNotifyCompletion
{
    private const byte Suspended = 0;
    private const byte TookAtOnce = 1;
    private const byte TimedOutAtOnce = 2;

    private readonly RtWaitQueue _queue;
    private readonly RtTask _task;
    private readonly long _deadlineNs;
    private byte _atOnce;

    internal RtTimedWaitAwaitable(RtWaitQueue queue, RtTask task, long deadlineNs)
    {
        _queue = queue;
        _task = task;
        _deadlineNs = deadlineNs;
    }

    /// <summary>Returns this awaitable.</summary>
    public readonly RtTimedWaitAwaitable GetAwaiter() => this;

    /// <summary>True when the resource was available at once (it is then taken), or the deadline has already passed.</summary>
    public bool IsCompleted
    {
        get
        {
            _task.ThrowIfNotCurrent(); // awaited off the task's CPU thread, it would block a task that is not running
            if (_task.CancelFlag != 0)
            {
                return false; // OnCompleted resumes it at once, and GetResult throws
            }

            if (_queue.TryTakeNow())
            {
                _atOnce = TookAtOnce;
                return true;
            }

            if (RtClock.NowNs() >= _deadlineNs)
            {
                _atOnce = TimedOutAtOnce;
                return true;
            }

            return false;
        }
    }

    /// <summary>True when the wait got the resource, false when the deadline passed first.</summary>
    /// <exception cref="OperationCanceledException">The wait ended by cancellation.</exception>
    public readonly bool GetResult()
    {
        if (_atOnce != Suspended)
        {
            return _atOnce == TookAtOnce;
        }

        RtTask task = _task;
        Cpu.DisarmWaitTimeout(task); // the timeout of a wait that was granted or cancelled first
        if (task.BlockedOn is not null && task.Continuation is null)
        {
            RtWaitQueue.TakeGrant(task); // as RtWaitAwaitable.GetResult: the grant is this flow's now
        }

        if (task.WaitCancelled)
        {
            task.WaitCancelled = false;
            RtScheduler.ThrowCancelled(task);
        }

        if (task.RareOrNull is { WaitTimedOut: true } rare)
        {
            rare.WaitTimedOut = false;
            return false;
        }

        return true;
    }

    /// <inheritdoc/>
    public readonly void OnCompleted(Action continuation) => _queue.BlockTimed(_task, continuation, _deadlineNs);

    /// <inheritdoc/>
    public readonly void UnsafeOnCompleted(Action continuation) => _queue.BlockTimed(_task, continuation, _deadlineNs);
}
