using System.Runtime.CompilerServices;
using RtRuntime.Cpus;

namespace RtRuntime.Tasks;

/// <summary>
/// The awaitable of <see cref="TaskContext.Sleep"/>: blocks the task on its CPU's timer queue until the
/// deadline. Its awaiter is a <see cref="ValueTaskAwaiter"/> over the runtime's sleep source, which
/// costs the sleeping task no continuation delegate.
/// Its awaiter is for <c>await</c>: its <c>IsCompleted</c> is not a poll of the deadline or the resource, and asking its result before awaiting it throws.
/// </summary>
public readonly struct SleepAwaitable
{
    private readonly RtTask _task;
    private readonly long _deadlineNs;

    internal SleepAwaitable(RtTask task, long deadlineNs)
    {
        _task = task;
        _deadlineNs = deadlineNs;
    }

    /// <summary>
    /// A completed awaiter when the deadline has already passed and nothing is pending on the CPU;
    /// otherwise one that suspends the task until the deadline (and throws
    /// <see cref="OperationCanceledException"/> when the sleep ended by cancellation).
    /// </summary>
    /// <exception cref="InvalidOperationException">Awaited off the task's CPU thread (made on it, awaited after a <c>ConfigureAwait(false)</c>): its timer would be armed from a foreign thread and the task never woken; or awaited preempt-disabled (scheduling while atomic).</exception>
    public ValueTaskAwaiter GetAwaiter() =>
        (TryPrepare(out short token) ? new ValueTask(HrTimerSleeper.Instance, token) : default).GetAwaiter();

    /// <summary>False when the sleep completes at once; else leaves its deadline on the CPU for <see cref="HrTimerSleeper"/> and returns the token.</summary>
    internal bool TryPrepare(out short token)
    {
        _task.ThrowIfNotCurrent();
        _task.Scheduler.ThrowIfAtomic(_task, "Sleep"); // again at the await: one made preemptible may be awaited preempt-disabled
        Cpu cpu = _task.Cpu!;
        if (_task.CancelFlag == 0 && cpu.Pending == 0 && RtClock.NowNs() >= _deadlineNs)
        {
            token = 0;
            return false;
        }

        token = cpu.PrepareBlock(null, _deadlineNs);
        return true;
    }
}
