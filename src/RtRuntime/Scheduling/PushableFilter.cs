using RtRuntime.Tasks;

namespace RtRuntime.Scheduling;

/// <summary>
/// push_rt_tasks' look at a queue's head: the first migratable task among the first
/// <see cref="MaxLooked"/> (the kernel's pushable list only ever offers its head), noting whether a
/// migrate-disabled task was passed over (a pile-up).
/// </summary>
internal struct PushableFilter : ITaskFilter
{
    /// <summary>How many queued tasks are looked at, at most.</summary>
    public const int MaxLooked = 8;

    /// <summary>Tasks looked at so far; above <see cref="MaxLooked"/> the scan stopped without a choice.</summary>
    public int Looked;

    /// <summary>A migrate-disabled task was passed over.</summary>
    public bool PileUp;

    /// <inheritdoc/>
    public bool Take(RtTask task)
    {
        if (++Looked > MaxLooked)
        {
            return true; // stop scanning; the caller discards this task
        }

        if (task.MigrationDisabled > 0)
        {
            PileUp = true;
            return false;
        }

        return true;
    }
}
