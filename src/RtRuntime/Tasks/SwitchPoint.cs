using System.Threading.Tasks.Sources;

namespace RtRuntime.Tasks;

/// <summary>
/// The IValueTaskSource behind an <c>await using</c> guard's DisposeAsync when a switch is due: it
/// suspends the task as a preemption point. One per task, allocated on first use.
/// </summary>
internal sealed class SwitchPoint(RtTask task) : IValueTaskSource
{
    private short _token;
    private bool _suspended;

    public ValueTask Arm() => new(this, _token);

    /// <summary>
    /// Pending until the task suspended here; then how it will resume: cancelled or not (what
    /// <c>AsTask()</c>'s completion reads, so that a cancelled switch ends Canceled, not Faulted).
    /// </summary>
    public ValueTaskSourceStatus GetStatus(short token) =>
        !_suspended ? ValueTaskSourceStatus.Pending
        : task.CancelFlag != 0 ? ValueTaskSourceStatus.Canceled
        : ValueTaskSourceStatus.Succeeded;

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _suspended = task.Suspend(continuation, state, SuspendReason.PreemptionPoint);

    public void GetResult(short token)
    {
        _suspended = false;
        _token++;
        if (task.CancelFlag != 0)
        {
            RtScheduler.ThrowCancelled(task);
        }
    }
}
