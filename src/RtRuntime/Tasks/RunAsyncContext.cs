namespace RtRuntime.Tasks;

/// <summary>
/// The <see cref="SynchronizationContext"/> the bodies of <see cref="RtScheduler.RunAsync"/> tasks run
/// under, one per runtime. A spawned task is its own context, so a foreign await's continuation comes
/// back to that task; a pooled task's object lives again as another task once it ended, and nothing
/// tells which life a continuation posted to it later belongs to (an async call the body started and did
/// not await captures the context and posts to it whenever it goes on). So a pooled task never hands its
/// object out as a context: what is posted here runs on the runtime, in order, on a short task
/// <c>runasync/posted</c> in the normal class (<see cref="PostedAfterExit"/>), never as a step of any
/// pooled task, and under this context again, so that a body's next foreign await comes back here too,
/// in the order posted. A pooled body's own foreign await therefore goes on there, outside its task, as after
/// <c>ConfigureAwait(false)</c>: its <see cref="TaskContext"/> then throws.
/// </summary>
internal sealed class RunAsyncContext(PostedAfterExit queue) : SynchronizationContext
{
    /// <summary>Queues <paramref name="d"/> for the <c>runasync/posted</c> task (dropped and logged once the runtime is stopping).</summary>
    /// <param name="d">The callback.</param>
    /// <param name="state">The callback's argument.</param>
    /// <exception cref="ArgumentNullException"><paramref name="d"/> is null.</exception>
    public override void Post(SendOrPostCallback d, object? state)
    {
        ArgumentNullException.ThrowIfNull(d);
        queue.Post(d, state);
    }

    /// <summary>Not supported: the work runs on a runtime task, which may be waiting for its CPU; use <see cref="Post"/>.</summary>
    /// <param name="d">The callback.</param>
    /// <param name="state">The callback's argument.</param>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override void Send(SendOrPostCallback d, object? state) =>
        throw new NotSupportedException("The context of RunAsync tasks does not support SynchronizationContext.Send; use Post.");

    /// <summary>This context: it has no state to copy.</summary>
    /// <returns>This context.</returns>
    public override SynchronizationContext CreateCopy() => this;
}
