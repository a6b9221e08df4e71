namespace RtRuntime.Tests;

/// <summary>
/// A stop flag and the body of tasks that keep their CPU busy, passing preemption points, until it is
/// set: the shape of most real-thread balancing tests (tasks that must stay running or queued while the
/// test arranges the moment it checks).
/// </summary>
internal sealed class BusyUntilStopped
{
    private int _stopped;

    /// <summary>True once <see cref="Stop"/> was called (for a body of another shape, e.g. one that yields).</summary>
    public bool IsStopped => Volatile.Read(ref _stopped) != 0;

    /// <summary>Ends every body at its next preemption point.</summary>
    public void Stop() => Volatile.Write(ref _stopped, 1);

    /// <summary>A task body: preemption points until <see cref="Stop"/>.</summary>
    public async ValueTask Body(Tasks.TaskContext ctx)
    {
        while (!IsStopped)
        {
            await ctx.PreemptionPoint();
        }
    }
}
