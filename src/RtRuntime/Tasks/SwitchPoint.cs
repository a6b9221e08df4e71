using System.Threading.Tasks.Sources;

namespace RtRuntime.Tasks;

/// <summary>
/// The IValueTaskSource behind an <c>await using</c> guard's DisposeAsync when a switch is due: it
/// suspends the task as a preemption point. One per task, allocated on first use. Unlike
/// <see cref="PreemptionPointAwaitable"/> it never throws the task's cancellation: the guard may be
/// disposed by an exception leaving its section, which a throw here would replace (a task that faulted
/// inside the section would end Cancelled, its exception lost); the next point throws it.
/// </summary>
internal sealed class SwitchPoint(RtTask task) : IValueTaskSource
{
    private short _token;
    private bool _suspended;

    public ValueTask Arm() => new(this, _token);

    /// <summary>Pending until the task suspended here; then done.</summary>
    public ValueTaskSourceStatus GetStatus(short token) =>
        _suspended ? ValueTaskSourceStatus.Succeeded : ValueTaskSourceStatus.Pending;

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _suspended = task.Suspend(continuation, state, SuspendReason.PreemptionPoint);

    public void GetResult(short token)
    {
        _suspended = false;
        _token++;
    }
}
