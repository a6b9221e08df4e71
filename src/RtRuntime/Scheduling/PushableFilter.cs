using RtRuntime.Tasks;

namespace RtRuntime.Scheduling;

/// <summary>The shared <see cref="PushWaitingScan"/> over a threaded run queue's pushable tasks.</summary>
internal struct PushableFilter : ITaskFilter
{
    /// <summary>The shared scan.</summary>
    public PushWaitingScan Scan;

    /// <inheritdoc/>
    public bool Take(RtTask task) => Scan.Take(task.Prio, task.MigrationDisabled);
}
