using RtRuntime.Cpus;
using RtRuntime.Scheduling;

namespace RtRuntime.Simulation;

/// <summary>
/// __set_cpus_allowed_ptr / affine_move_task: the mask is reported at once; the caller waits until the
/// target's CPU is inside it (set_affinity_pending, shared by all callers: the last request wins and
/// all complete together); a pinned target moves only after its outermost migrate_enable.
/// </summary>
internal sealed partial class SimEngine
{
    private void SetAffinity(SimTask caller, SimTask target, CpuSet mask)
    {
        Emit(caller.Cpu, caller, SimEventKind.AffinitySet, other: target.Name);
        if (mask == target.Mask)
        {
            Emit(caller.Cpu, caller, SimEventKind.AffinityDone, other: target.Name); // no-op request
            return;
        }

        if (BalanceRules.IsSelfAffinityDenied(caller == target, target.MigrationDisabled, target.Cpu, mask))
        {
            if (!_selfAffinityWarned)
            {
                _selfAffinityWarned = true;
                Bug(caller, $"WARNING: self-issued set_cpus_allowed_ptr({mask}) inside migrate_disable on cpu{target.Cpu}: -EBUSY");
            }

            Emit(caller.Cpu, caller, SimEventKind.AffinityFailed, other: target.Name);
            return;
        }

        if (target.MigrationDisabled == 0 && !Placement.AnyActive(mask, _cpus))
        {
            // -EINVAL: checked against cpu_active_mask, or cpu_online_mask for a migration-disabled target
            // (__set_cpus_allowed_ptr_locked), and every simulated CPU is online (an inactive one is going offline).
            Emit(caller.Cpu, caller, SimEventKind.AffinityFailed, other: target.Name);
            return;
        }

        target.Mask = mask;
        (target.AffinityWaiters ??= []).Add(caller);
        bool offCpu = target.State is SimTaskState.NotSpawned or SimTaskState.Exited || (target.IsBlocked && target.MigrationDisabled == 0);
        if (BalanceRules.AffinityCompletesAtOnce(target.Cpu, offCpu, mask))
        {
            CompleteAffinity(target); // a blocked target is placed inside the mask when it wakes
            if (target.State == SimTaskState.Queued)
            {
                PushQueuedTask(_cpus[target.Cpu], target); // a wider mask may let it run elsewhere now
            }

            return;
        }

        if (target.State == SimTaskState.Queued && target.MigrationDisabled == 0)
        {
            SimCpu from = _cpus[target.Cpu];
            int to = Fallback(target, exclude: from.Id);
            Dequeue(from, target);
            Emit(to, target, SimEventKind.Migrate, from.Id);
            Enqueue(_cpus[to], target, atHead: false); // completes the waiters (set_task_cpu)
            return;
        }

        if (target.State == SimTaskState.Running && target.MigrationDisabled == 0)
        {
            _cpus[target.Cpu].StopPending = true; // migration_cpu_stop at its next preemption point
        }

        if (caller == target)
        {
            PreemptionPoint(caller); // the stopper preempts the caller at once (stop_one_cpu)
            return;
        }

        caller.AffinityTarget = target;
        Block(caller, SimTaskState.AffinityWait);
    }

    /// <summary>complete_all(&amp;pending->done): every caller waiting on <paramref name="target"/> returns.</summary>
    private void CompleteAffinity(SimTask target)
    {
        List<SimTask> waiters = target.AffinityWaiters!;
        target.AffinityWaiters = null;
        foreach (SimTask waiter in waiters)
        {
            Emit(waiter.Cpu, waiter, SimEventKind.AffinityDone, other: target.Name);
            if (waiter.State == SimTaskState.AffinityWait && waiter.AffinityTarget == target)
            {
                Wake(waiter);
            }
        }
    }
}
