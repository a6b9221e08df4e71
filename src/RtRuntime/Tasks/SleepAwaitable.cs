using System.Runtime.CompilerServices;
using RtRuntime.Cpus;

namespace RtRuntime.Tasks;

/// <summary>The awaitable of <see cref="TaskContext.Sleep"/>: blocks the task on its CPU's timer queue until the deadline.</summary>
public readonly struct SleepAwaitable : ICriticalNotifyCompletion
{
    private readonly RtTask _task;
    private readonly long _deadlineNs;

    internal SleepAwaitable(RtTask task, long deadlineNs)
    {
        _task = task;
        _deadlineNs = deadlineNs;
    }

    /// <summary>Returns this awaitable.</summary>
    public SleepAwaitable GetAwaiter() => this;

    /// <summary>
    /// True when the deadline has already passed and nothing is pending. Throws when awaited off the
    /// task's CPU thread (made on it, awaited after a <c>ConfigureAwait(false)</c>): its timer would be
    /// armed from a foreign thread and the task never woken.
    /// </summary>
    public bool IsCompleted
    {
        get
        {
            _task.ThrowIfNotCurrent();
            return _task.CancelFlag == 0 && _task.Cpu!.Pending == 0 && RtClock.NowNs() >= _deadlineNs;
        }
    }

    /// <summary>Throws <see cref="OperationCanceledException"/> when the sleep ended by cancellation.</summary>
    public void GetResult()
    {
        if (_task.CancelFlag != 0)
        {
            RtScheduler.ThrowCancelled(_task);
        }
    }

    /// <inheritdoc/>
    public void OnCompleted(Action continuation) => UnsafeOnCompleted(continuation);

    /// <inheritdoc/>
    public void UnsafeOnCompleted(Action continuation)
    {
        if (_task.Suspend(continuation, SuspendReason.Block))
        {
            _task.Cpu!.ArmSleep(_task, _deadlineNs);
        }
    }
}
