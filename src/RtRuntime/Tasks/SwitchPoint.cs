using System.Threading.Tasks.Sources;

namespace RtRuntime.Tasks;

/// <summary>
/// The IValueTaskSource behind an <c>await using</c> guard's DisposeAsync when a switch is due: it
/// suspends the task as a preemption point. One per task, allocated on first use.
/// </summary>
internal sealed class SwitchPoint(RtTask task) : IValueTaskSource
{
    private short _token;

    public ValueTask Arm() => new(this, _token);

    public ValueTaskSourceStatus GetStatus(short token) => ValueTaskSourceStatus.Pending;

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _ = task.Suspend(continuation, state, SuspendReason.PreemptionPoint);

    public void GetResult(short token)
    {
        _token++;
        if (task.CancelFlag != 0)
        {
            RtScheduler.ThrowCancelled(task);
        }
    }
}
