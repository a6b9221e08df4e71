namespace RtRuntime.Scheduling;

/// <summary>
/// push_rt_tasks' look at a queue's head for the rebalancer's pass, shared by the threaded
/// <see cref="Balancer.PushWaiting"/> (through <see cref="PushableFilter"/>) and the simulator's tick:
/// fed a CPU's pushable tasks (affinity allows another CPU) in queue order, it stops at the first
/// migratable one among the first <see cref="MaxLooked"/> (the kernel's pushable list only ever offers
/// its head), noting whether a migrate-disabled task was passed over (a pile-up).
/// </summary>
internal struct PushWaitingScan
{
    /// <summary>How many queued tasks are looked at, at most.</summary>
    public const int MaxLooked = 8;

    /// <summary>Tasks looked at so far; above <see cref="MaxLooked"/> the scan stopped without a choice.</summary>
    public int Looked;

    /// <summary>A migrate-disabled task was passed over.</summary>
    public bool PileUp;

    /// <summary>The scan stopped past <see cref="MaxLooked"/> tasks: the task it stopped at is not the choice.</summary>
    public readonly bool Exhausted => Looked > MaxLooked;

    /// <summary>True to stop the scan at this task (the choice, unless <see cref="Exhausted"/>).</summary>
    /// <param name="migrationDisabled">The task's migrate-disable depth.</param>
    public bool Take(int migrationDisabled)
    {
        if (++Looked > MaxLooked)
        {
            return true; // stop scanning; the caller discards this task
        }

        if (migrationDisabled > 0)
        {
            PileUp = true;
            return false;
        }

        return true;
    }
}
