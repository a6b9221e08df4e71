namespace RtRuntime.Tasks;

/// <summary>
/// The SynchronizationContext current while a task runs. An await of anything foreign (a Task, I/O)
/// captures it, so the continuation comes back as a wakeup of the same task on a runtime CPU, never
/// as a ThreadPool callback.
/// </summary>
internal sealed class TaskSynchronizationContext(RtTask task) : SynchronizationContext
{
    public RtTask Task { get; } = task;

    public override void Post(SendOrPostCallback d, object? state)
    {
        ArgumentNullException.ThrowIfNull(d);
        Task.Scheduler.PostToTask(Task, d, state);
    }

    public override void Send(SendOrPostCallback d, object? state) =>
        throw new NotSupportedException("A runtime task's SynchronizationContext does not support Send: the task may be waiting for its CPU; use Post.");

    public override SynchronizationContext CreateCopy() => this;
}
