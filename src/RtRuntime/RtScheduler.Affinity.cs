using RtRuntime.Cpus;
using RtRuntime.Scheduling;
using RtRuntime.Tasks;

namespace RtRuntime;

/// <summary>set_cpus_allowed_ptr(): changing a task's affinity, deferred while it is migrate-disabled.</summary>
public sealed partial class RtScheduler
{
    private readonly Lock _affinityLock = new();

    // SetAffinityAsync's answers that need no waiting: made to a live task and done (true), or the task had ended (false, ESRCH).
    private static readonly Task<bool> s_applied = Task.FromResult(true);
    private static readonly Task<bool> s_ended = Task.FromResult(false);

    /// <summary>
    /// Sets <paramref name="task"/>'s affinity (the kernel's <c>set_cpus_allowed_ptr</c>). The reported
    /// affinity changes at once; the returned task completes when the task runs inside the new mask.
    /// A request that includes the task's current CPU completes at once (and completes earlier
    /// requests still waiting); while the task is migrate-disabled the move waits for its outermost
    /// migrate-enable; the last request wins and all waiters complete together. A task setting its
    /// own affinity to a mask that excludes its CPU while migrate-disabled gets an error (the kernel's
    /// EBUSY) and its mask is unchanged. A task that has ended is left as it is, its mask unchanged, and
    /// the returned task is false at once (the kernel's ESRCH for a pid that is gone): a task may end at
    /// any moment, so this is an outcome to look at, not an error. Bad input is refused before that.
    /// A request for the mask the task already has completes with true at once, before the EBUSY and
    /// no-active-CPU checks and without waiting for an earlier request's pending move (the kernel's
    /// <c>cpumask_equal</c> shortcut in <c>__set_cpus_allowed_ptr_locked</c>; the earlier caller still waits).
    /// A migrate-disabled task's mask needs an online CPU only (<c>cpu_online_mask</c>): it may name only
    /// CPUs going offline; at its migrate-enable the move there fails, the request completes, and the
    /// task stays where it runs until its next wakeup falls back (<c>select_fallback_rq</c>).
    /// </summary>
    /// <returns>
    /// A task that completes with true when the request was made to a live task, once the task runs
    /// inside the new mask, or ends first (it was moved as far as it lived); with false at once when
    /// the task had already ended (completed, faulted, cancelled, or ended by a stop): nothing was changed.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="task"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="task"/> belongs to another runtime.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The mask is empty, names CPUs this runtime lacks, or (for a live task whose mask it changes) has no active CPU, or for a migrate-disabled task no online CPU (the kernel's EINVAL).</exception>
    /// <exception cref="InvalidOperationException">Self-issued while migrate-disabled, changing the mask to one excluding the current CPU (EBUSY).</exception>
    public Task<bool> SetAffinityAsync(RtTask task, CpuSet affinity)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (task.Scheduler != this)
        {
            // Its mask would name this runtime's CPUs, and a move would queue it on them.
            throw new ArgumentException($"task '{task.Name}' (id {task.Id}) belongs to another runtime; set its affinity through the RtScheduler that spawned it.", nameof(task));
        }

        CpuSet mask = ValidateAffinity(affinity, nameof(affinity));

        // The life this request is made to (a pooled RunAsync object is reused): read before the end check,
        // so a request that sees this life live and then finds the object in a later one knows it ended.
        short life = task.Token;
        if (task.IsCompleted)
        {
            return s_ended; // ESRCH
        }

        TaskCompletionSource<bool>? pending;
        Cpu? queuedOn = null;
        using (_affinityLock.EnterScope())
        {
            // __set_cpus_allowed_ptr_locked's order (the simulator's too): an unchanged mask returns 0 before
            // any other check (cpumask_equal), so it is never EBUSY or EINVAL, and it does not wait for an
            // earlier request's move still pending (that caller waits; this one asked for nothing new).
            if (mask == task.AffinityMask)
            {
                return s_applied; // no-op request (scenario 27)
            }

            Cpu? cpu = task.Cpu;
            if (cpu is not null && BalanceRules.IsSelfAffinityDenied(task.IsCurrent, task.MigrationDisabled, cpu.Id, mask))
            {
                throw new InvalidOperationException(
                    $"EBUSY: task '{task.Name}' is migrate-disabled on cpu{cpu.Id} and may not move itself to {{{mask}}}; " +
                    "leave the migrate-disabled section first, or include its current CPU in the mask.");
            }

            if (task.MigrationDisabled > 0 ? !AnyOnline(mask) : !Placement.AnyActive(mask, _cpuViews))
            {
                // set_cpus_allowed_ptr's EINVAL (the simulator's too): __set_cpus_allowed_ptr_locked checks the
                // mask against cpu_active_mask, or cpu_online_mask for a migration-disabled task ("must not
                // fail the pick", esp. at its SCA_MIGRATE_ENABLE). A mask with no active CPU would only be
                // widened to every CPU (select_fallback_rq) with a warning naming the CPU the task leaves.
                throw task.MigrationDisabled > 0 ? NoOnlineCpu(task, mask) : NoActiveCpu(mask); // as a spawn's (ThrowIfNoActiveCpu)
            }

            // The mask changes under the run-queue lock of the task's CPU, so a pull (which reads it under
            // both CPUs' locks) sees the old mask or the new one with the task where it was checked.
            Cpu? settled = SetMaskOnCpu(task, mask);

            // The mask before the run state (a full fence: a waker's CAS out of Blocked is one too), so
            // either this sees the task runnable, or its waker places it by the new mask.
            Interlocked.MemoryBarrier();
            int run = Volatile.Read(ref task.Run);
            bool offCpu = settled is null && (run is TaskRunState.Created or TaskRunState.Dead || (run == TaskRunState.Blocked && task.MigrationDisabled == 0));

            // A task blocked inside a migrate-disabled section wakes on its pinned CPU (task_cpu(p)), as the simulator counts it.
            int settledCpu = settled?.Id ?? (run == TaskRunState.Blocked && task.MigrationDisabled > 0 && task.Cpu is { } pinned ? pinned.Id : -1);
            if (BalanceRules.AffinityCompletesAtOnce(settledCpu, offCpu, mask))
            {
                // Settled inside the mask, or off every CPU: complete now, with any request it supersedes (scenario 24).
                CompleteAffinityLocked(task);
                queuedOn = settled is not null && Volatile.Read(ref task.Run) == TaskRunState.Queued ? settled : null;
                pending = null;
            }
            else
            {
                pending = task.Rare.AffinityPending ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        if (pending is null)
        {
            if (queuedOn is not null)
            {
                // Queued inside its new mask: a wider mask may let it run elsewhere now (push_rt_task,
                // as the simulator pushes here); it is re-checked under both CPUs' locks.
                Balancer.PushQueuedTask(queuedOn, task);
            }

            return s_applied;
        }

        MoveForAffinity(task, life, pending);
        Rebalancer.Notify(Scheduling.BalanceReason.AffinityChanged);
        return pending.Task;
    }

    /// <summary>cpumask_intersects(mask, cpu_online_mask): the mask names a CPU that is online (active or going offline).</summary>
    private bool AnyOnline(CpuSet mask)
    {
        for (int id = mask.First; id >= 0 && id < _cpus.Length; id = mask.Next(id))
        {
            if (_cpus[id].Online)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The EINVAL of a migrate-disabled task's mask without an online CPU (an inactive one would do for it).</summary>
    private ArgumentOutOfRangeException NoOnlineCpu(RtTask task, CpuSet affinity) =>
        new(nameof(affinity), affinity.ToString(),
            $"affinity {{{affinity}}} has no online CPU; online now: {{{OnlineCpus}}}. Task '{task.Name}' is migrate-disabled, so a CPU going offline (online, inactive) would do for it.");

    /// <summary>
    /// Writes the mask under the lock of the task's CPU; returns that CPU when the task is settled on it
    /// (running there, or in its run queue), null when it is on no CPU's queue (never placed, blocked,
    /// or between CPUs: taken off one and not yet queued on the next, where <c>task.Cpu</c> is stale).
    /// </summary>
    private static Cpu? SetMaskOnCpu(RtTask task, CpuSet mask)
    {
        while (true)
        {
            Cpu? cpu = task.Cpu;
            if (cpu is null)
            {
                task.AffinityMask = mask;
                return null;
            }

            using (cpu.Lock.EnterScope())
            {
                if (task.Cpu == cpu)
                {
                    task.AffinityMask = mask;
                    bool queuedHere = task.Run == TaskRunState.Queued && cpu.Rq.Contains(task);
                    if (queuedHere)
                    {
                        cpu.RequalifyPushable(task); // queued: counted pushable by the old mask
                    }

                    return queuedHere || (task.Run == TaskRunState.Running && cpu.Running == task) ? cpu : null;
                }
            }
        }
    }

    /// <summary>
    /// Moves the task towards its new mask, or leaves that to its next preemption point / migrate-enable.
    /// <paramref name="life"/> is the life the request saw live, <paramref name="pending"/> the source it published.
    /// </summary>
    private void MoveForAffinity(RtTask task, short life, TaskCompletionSource<bool> pending)
    {
        // The pending request (written under the affinity lock) before the run state read below: a
        // task blocking now reads it after publishing Blocked (OnBlockedMigratable), so either it
        // sees the request, or this sees it blocked.
        Interlocked.MemoryBarrier();
        bool dead = Volatile.Read(ref task.Run) == TaskRunState.Dead;
        if (dead || task.Token != life)
        {
            // Ended since the request saw it running (Ended looks for a request after its fenced end,
            // so one of the two completes it): nothing is left to move (review helper-111). Or ended,
            // retired and reused: a pooled task's TryRetire may have looked for rare state before this
            // request made it, and the next life's reset dropped it with this source. The run state is
            // read first and the life after (a retirement bumps the life before any write of the next
            // life), so a state of a later life is seen with its number. Completed through the source
            // this request published, never through the object, which may hold a later life's request.
            CompleteAffinityOf(task, pending);
            if (dead)
            {
                return;
            }

            // A later life runs: the mask may be the one this request wrote (a call racing the end may
            // reach the next life), so it is moved towards it as any task is.
        }

        if (task.Cpu is not { } cpu)
        {
            return;
        }

        if (task.MigrationDisabled > 0)
        {
            // Deferred: its outermost migrate_enable raises the stop work. A running task may be in
            // that enable right now, having read its MigrateEnableWork flag before this set it: the
            // stop work at its next preemption point looks again (and does nothing while it is pinned).
            if (Volatile.Read(ref task.Run) == TaskRunState.Running)
            {
                cpu.SetPending(PendingWork.Stop);
            }

            return;
        }

        switch (Volatile.Read(ref task.Run))
        {
            case TaskRunState.Running:
                cpu.SetPending(PendingWork.Stop); // migration_cpu_stop at its next preemption point
                break;
            case TaskRunState.Queued:
                bool moved = false;
                using (cpu.Lock.EnterScope())
                {
                    if (task.Cpu == cpu && task.Run == TaskRunState.Queued && cpu.Rq.Contains(task))
                    {
                        cpu.DequeueLocked(task);
                        moved = true;
                    }
                }

                if (moved)
                {
                    Activate(task, wakeup: false); // move_queued_task (not a wakeup); completes at its switch-in
                }

                break;
            case TaskRunState.Blocked:
                // Asleep and migratable: the wakeup places it inside the new mask (p->wake_cpu). The
                // migrate-disable depth read above may predate a section the task entered before it
                // blocked: read again after seeing Blocked (a blocked task cannot change it). A pinned
                // sleeper wakes on its CPU, and its request completes once it runs inside the mask.
                if (Volatile.Read(ref task.MigrationDisabled) == 0 || task.AffinityMask.Contains(cpu.Id))
                {
                    CompleteAffinity(task); // or pinned, but already inside its new mask
                }

                break;
        }
    }

    /// <summary>At switch-in: a pending affinity request is satisfied once the task runs inside its mask.</summary>
    internal void OnSwitchIn(Cpu cpu, RtTask task)
    {
        CompleteAffinityIfInside(cpu, task);
        if (!task.AffinityMask.Contains(cpu.Id) && task.MigrationDisabled == 0 && Placement.MustLeave(task.AffinityMask, cpu.Id, _cpuViews))
        {
            cpu.SetPending(PendingWork.Stop); // raced with an affinity change: leave at the first preemption point
        }
    }

    /// <summary>
    /// The stopper (migration_cpu_stop) found <paramref name="task"/>, migratable, outside its mask on an
    /// active CPU, with no active CPU in the mask: its <c>__migrate_task</c> fails, and the request that
    /// queued it completes all the same (the pending is cleared before the move is tried): the task stays
    /// where it runs until its next wakeup (<see cref="Placement.MustLeave{TCpu}"/>).
    /// </summary>
    internal void CompleteAffinityMoveFailed(RtTask task)
    {
        if (task.RareOrNull?.AffinityPending is not null)
        {
            CompleteAffinity(task);
        }
    }

    /// <summary>
    /// On <paramref name="cpu"/>'s thread, which runs <paramref name="task"/>: completes a pending request
    /// whose mask holds this CPU. Called at switch-in and by the stopper (migration_cpu_stop completes
    /// the pending request of a task it finds inside the mask): a request that saw the task between CPUs
    /// publishes its pending completion after that look, so the task can switch in inside the new mask
    /// before it is published, and its switch-in finds none; the request then raises the stop work on
    /// the CPU the task runs on, which completes it here (else it waited for the task's next switch-in,
    /// block or end: for ever while a lone task kept running there).
    /// </summary>
    internal void CompleteAffinityIfInside(Cpu cpu, RtTask task)
    {
        if (task.RareOrNull?.AffinityPending is not null && task.AffinityMask.Contains(cpu.Id))
        {
            using (_affinityLock.EnterScope())
            {
                if (task.AffinityMask.Contains(cpu.Id))
                {
                    CompleteAffinityLocked(task);
                }
            }
        }
    }

    /// <summary>
    /// On <paramref name="cpu"/>'s thread, right after <paramref name="task"/> blocked there migratable
    /// with a request pending: completes it while the task is still in that block (Blocked, and its
    /// CPU still this one: blocking again would have needed a run elsewhere, as this thread is busy),
    /// since its wakeup places it inside the mask. A task woken meanwhile completes it at its switch-in.
    /// </summary>
    internal void OnBlockedMigratable(Cpu cpu, RtTask task)
    {
        using (_affinityLock.EnterScope())
        {
            if (Volatile.Read(ref task.Run) == TaskRunState.Blocked && task.Cpu == cpu)
            {
                CompleteAffinityLocked(task);
            }
        }
    }

    private void CompleteAffinity(RtTask task)
    {
        using (_affinityLock.EnterScope())
        {
            CompleteAffinityLocked(task);
        }
    }

    /// <summary>
    /// Completes <paramref name="pending"/> (true: the request was made to a live task, which ended) and
    /// takes it off the task's rare state if it is still there (a later life's request is left alone).
    /// </summary>
    private void CompleteAffinityOf(RtTask task, TaskCompletionSource<bool> pending)
    {
        using (_affinityLock.EnterScope())
        {
            if (task.RareOrNull is { } rare && rare.AffinityPending == pending)
            {
                rare.AffinityPending = null;
            }
        }

        pending.TrySetResult(true);
    }

    private static void CompleteAffinityLocked(RtTask task)
    {
        RtTaskRare? rare = task.RareOrNull;
        TaskCompletionSource<bool>? pending = rare?.AffinityPending;
        if (rare is not null)
        {
            rare.AffinityPending = null;
        }

        pending?.TrySetResult(true);
    }
}
