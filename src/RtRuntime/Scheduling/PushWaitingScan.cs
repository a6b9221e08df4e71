namespace RtRuntime.Scheduling;

/// <summary>
/// push_rt_tasks' look at a queue's head for the rebalancer's pass, shared by the threaded
/// <see cref="Balancer.PushWaiting"/> (through <see cref="PushableFilter"/>) and the simulator's tick:
/// fed a CPU's pushable tasks (affinity allows another CPU) in queue order, it stops at the first
/// migratable one among the first <see cref="MaxLooked"/>, past the <see cref="Skip"/> migratable ones
/// the pass found no CPU for, noting whether a migrate-disabled task was passed over (a pile-up).
/// </summary>
/// <remarks>
/// The kernel's push offers only the pushable list's head and stops when it finds no CPU; the task
/// behind it is then left to a pull, and the kernel pulls where a priority drops (prio_changed_rt),
/// looking past tasks that may not run there (pick_highest_pushable_task). Here that drop is this
/// pass's push, so it goes on past a head that has nowhere to go (its affinity allows only busier
/// CPUs): else a task behind it waited while a CPU it may run on ran below it, for as long as the
/// head stayed (until then every tick found the same head).
/// </remarks>
internal struct PushWaitingScan
{
    /// <summary>How many queued tasks are looked at, at most.</summary>
    public const int MaxLooked = 8;

    /// <summary>Tasks looked at so far; above <see cref="MaxLooked"/> the scan stopped without a choice.</summary>
    public int Looked;

    /// <summary>A migrate-disabled task was passed over before the first migratable one.</summary>
    public bool PileUp;

    /// <summary>
    /// With <see cref="PileUp"/>, the priority of the first (highest) migrate-disabled task passed over:
    /// what a CPU must run below for the repair (its CPU's runner pushed away) to let it run instead of
    /// making that CPU's task wait.
    /// </summary>
    public int PinnedPrio;

    /// <summary>How many migratable tasks to pass over first: those this pass already found no CPU for (they stay queued ahead).</summary>
    public int Skip;

    // A migratable task was passed over (Skip): what follows is behind the head.
    private bool _passedOver;

    /// <summary>The scan stopped past <see cref="MaxLooked"/> tasks: the task it stopped at is not the choice.</summary>
    public readonly bool Exhausted => Looked > MaxLooked;

    /// <summary>True to stop the scan at this task (the choice, unless <see cref="Exhausted"/>).</summary>
    /// <param name="prio">The task's priority.</param>
    /// <param name="migrationDisabled">The task's migrate-disable depth.</param>
    public bool Take(int prio, int migrationDisabled)
    {
        if (++Looked > MaxLooked)
        {
            return true; // stop scanning; the caller discards this task
        }

        if (migrationDisabled > 0)
        {
            // A pile-up only before the head: a pinned task behind a movable one is left to later events
            // (the head's scan saw what was before it), as when the head was pushed.
            if (!_passedOver && !PileUp)
            {
                PileUp = true;
                PinnedPrio = prio;
            }

            return false;
        }

        if (Skip > 0)
        {
            Skip--; // a task this pass found no CPU for
            _passedOver = true;
            return false;
        }

        return true;
    }
}
