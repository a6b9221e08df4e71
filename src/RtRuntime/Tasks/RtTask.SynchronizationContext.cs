namespace RtRuntime.Tasks;

/// <summary>
/// A task is the <see cref="SynchronizationContext"/> its body runs under. An await of anything
/// foreign (a Task, I/O) captures it, so the continuation comes back as a wakeup of this same task on
/// a runtime CPU, never as a ThreadPool callback: the kernel's <c>task_work_add</c>, work queued to
/// run in the task's own context. Being its own context saves a separate object per task.
/// </summary>
public abstract partial class RtTask
{
    /// <summary>
    /// Queues <paramref name="d"/> to run as this task's next step on its CPU and wakes the task
    /// (<c>task_work_add</c> + <c>try_to_wake_up</c>). Work posted before the body starts runs first, then
    /// the body starts in the same step. Work posted after the task ended (or in its last step) still
    /// runs, in the order posted and one at a time, on a short task <c>&lt;name&gt;/posted</c> at the ended
    /// task's priority and policy, still under this task as its context (so an await there comes back
    /// here, in order); it is dropped (logged at debug level) only once the runtime is stopping.
    /// </summary>
    /// <param name="d">The callback.</param>
    /// <param name="state">The callback's argument.</param>
    /// <exception cref="ArgumentNullException"><paramref name="d"/> is null.</exception>
    public override void Post(SendOrPostCallback d, object? state)
    {
        ArgumentNullException.ThrowIfNull(d);
        Scheduler.PostToTask(this, d, state);
    }

    /// <summary>Not supported: the task may be waiting for its CPU, so a synchronous call could deadlock; use <see cref="Post"/>.</summary>
    /// <param name="d">The callback.</param>
    /// <param name="state">The callback's argument.</param>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override void Send(SendOrPostCallback d, object? state) =>
        throw new NotSupportedException($"Task '{Name}' does not support SynchronizationContext.Send: the task may be waiting for its CPU; use Post.");

    /// <summary>The task itself: its context has no state to copy.</summary>
    /// <returns>This task.</returns>
    public override SynchronizationContext CreateCopy() => this;
}
