using RtRuntime.Cpus;
using RtRuntime.Diagnostics;
using RtRuntime.Tasks;

namespace RtRuntime.Scheduling;

/// <summary>
/// RT push/pull balancing (kernel/sched/rt.c) for the threaded runtime: a CPU pulls for itself when it
/// drops in priority or goes idle; a preempted migratable task is pushed to a CPU running lower
/// priority; a migrate-disable pile-up is repaired by moving the running higher-priority task away
/// (a7c81556ec4d), as the <see cref="BalancePolicy"/> allows. Moving a running task is always done by
/// its own CPU at its next preemption point (the stopper analogue, <see cref="RunStopWork"/>).
/// </summary>
internal sealed class Balancer
{
    private readonly RtScheduler _scheduler;
    private readonly Cpu[] _cpus;

    public Balancer(RtScheduler scheduler, Cpu[] cpus)
    {
        _scheduler = scheduler;
        _cpus = cpus;
    }

    public long Pulls;
    public long Pushes;
    public long RunningPushes;

    /// <summary>
    /// pull_rt_task: before <paramref name="self"/> picks, take the highest-priority waiting task from
    /// another CPU that may run here and outranks everything queued here. If the best candidate is
    /// migrate-disabled, ask its CPU to push its running task instead (pile-up repair on pull).
    /// </summary>
    public void PullIfBetter(Cpu self)
    {
        int droppedFrom = self.LastRunPrio;
        self.LastRunPrio = -1;
        if (!self.Active)
        {
            return; // a dying or offline CPU takes no work
        }

        for (int round = 0; round < _cpus.Length; round++)
        {
            int myTop = self.QueuedTop;
            Cpu? source = null;
            int sourceTop = myTop;
            foreach (Cpu other in _cpus)
            {
                if (other != self && other.QueuedTop > sourceTop)
                {
                    source = other;
                    sourceTop = other.QueuedTop;
                }
            }

            if (source is null || !PullFrom(source, self, droppedFrom))
            {
                return;
            }
        }
    }

    private bool PullFrom(Cpu source, Cpu self, int droppedFrom)
    {
        RtTask? pinned = null;
        RtTask? pulled = null;
        Cpu first = source.Id < self.Id ? source : self;
        Cpu second = source.Id < self.Id ? self : source;
        using (first.Lock.EnterScope())
        {
            using (second.Lock.EnterScope())
            {
                int myTop = self.QueuedTop;
                int sourceRunning = source.RunningPrio;
                RtTask? candidate = source.Rq.FindFirst(myTop, t =>
                    t.AffinityMask.Contains(self.Id) && t.Prio <= sourceRunning);
                if (candidate is not null && candidate.MigrationDisabled == 0)
                {
                    source.DequeueLocked(candidate);
                    self.EnqueueLocked(candidate, atHead: false);
                    pulled = candidate;
                }
                else if (candidate is not null)
                {
                    pinned = candidate;
                }
            }
        }

        if (pulled is not null)
        {
            Interlocked.Increment(ref Pulls);
            return true;
        }

        if (pinned is not null && RtEventSource.Log.IsEnabled())
        {
            RtEventSource.Log.MigratePull(pinned.Id, source.Id);
        }

        if (pinned is not null && ShouldRepairOnPull(droppedFrom))
        {
            RequestPushRunning(source);
        }

        return false;
    }

    private bool ShouldRepairOnPull(int droppedFrom) => _scheduler.Policy switch
    {
        BalancePolicy.NoPushRunning => false,
        BalancePolicy.KernelFaithful => droppedFrom > 0, // only a CPU that dropped its RT priority pulls
        _ => true,
    };

    /// <summary>A cheap racy check for idle CPUs: is there queued work another CPU could hand over?</summary>
    public bool HasPullable(Cpu self)
    {
        if (!self.Active)
        {
            return false;
        }

        foreach (Cpu other in _cpus)
        {
            if (other != self && other.QueuedTop >= 0 && other.QueuedTop <= other.RunningPrio)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// push_rt_tasks after a preemption on <paramref name="self"/>: move the preempted task to a CPU
    /// running lower priority; if it is migrate-disabled (a pile-up forms), WorkConserving moves the
    /// higher-priority task that preempted it instead.
    /// </summary>
    public void AfterPreempt(Cpu self, RtTask preempted)
    {
        if (preempted.MigrationDisabled == 0)
        {
            PushQueued(self, preempted);
            return;
        }

        _scheduler.Rebalancer.Notify(BalanceReason.PinnedPreempted);
        if (_scheduler.Policy != BalancePolicy.WorkConserving)
        {
            return;
        }

        RtTask? runner;
        using (self.Lock.EnterScope())
        {
            runner = self.Rq.PeekHighest();
        }

        if (runner is not null && runner != preempted && runner.MigrationDisabled == 0)
        {
            if (PushQueued(self, runner))
            {
                Interlocked.Increment(ref RunningPushes);
            }
        }
    }

    /// <summary>Moves a task queued on <paramref name="self"/> to the lowest CPU if it would run there now.</summary>
    private bool PushQueued(Cpu self, RtTask task)
    {
        int target = Placement.FindLowest(task.Prio, task.AffinityMask, self.Id, _cpus);
        if (target < 0 || _cpus[target].TopPrio >= task.Prio)
        {
            return false;
        }

        Cpu dest = _cpus[target];
        Cpu first = self.Id < dest.Id ? self : dest;
        Cpu second = self.Id < dest.Id ? dest : self;
        bool moved = false;
        using (first.Lock.EnterScope())
        {
            using (second.Lock.EnterScope())
            {
                // Re-check under both locks: still queued here, still movable, still worth it.
                if (task.Cpu == self && task.Run == TaskRunState.Queued && task.MigrationDisabled == 0
                    && IsQueued(self, task) && dest.TopPrio < task.Prio && dest.Active)
                {
                    self.DequeueLocked(task);
                    dest.EnqueueLocked(task, atHead: false);
                    moved = true;
                }
            }
        }

        if (moved)
        {
            Interlocked.Increment(ref Pushes);
            dest.KickIfIdle();
        }

        return moved;
    }

    private static bool IsQueued(Cpu cpu, RtTask task) =>
        task.RqPrev is not null || cpu.Rq.PeekHighestOf(task.Prio) == task;

    /// <summary>balance_push: a migratable task taken off a dying CPU's queue goes to an active CPU (its affinity widened if needed).</summary>
    public void PushedOff(Cpu dying, RtTask task)
    {
        int target = _scheduler.SelectFallbackCpu(task, exclude: dying);
        _cpus[target].Enqueue(task);
        Interlocked.Increment(ref Pushes);
    }

    /// <summary>
    /// A rebalancer pass on <paramref name="cpu"/>: push every waiting migratable task that another CPU
    /// would run now; if a waiting task is migrate-disabled and some allowed CPU runs lower priority
    /// (a pile-up), WorkConserving asks the CPU to move its running task instead.
    /// </summary>
    public void PushWaiting(Cpu cpu)
    {
        List<RtTask> waiting;
        using (cpu.Lock.EnterScope())
        {
            waiting = cpu.Rq.ToList();
        }

        foreach (RtTask task in waiting)
        {
            if (task.MigrationDisabled == 0)
            {
                PushQueued(cpu, task);
            }
            else if (_scheduler.Policy == BalancePolicy.WorkConserving
                && Placement.FindLowest(task.Prio, task.AffinityMask, cpu.Id, _cpus) is int lowest and >= 0
                && _cpus[lowest].TopPrio < task.Prio)
            {
                RequestPushRunning(cpu);
            }
        }
    }

    /// <summary>True when a task queued on <paramref name="source"/> above <paramref name="abovePrio"/> may run on <paramref name="cpuId"/> (racy, for accounting).</summary>
    public static bool HasWaiterAllowedOn(Cpu source, int cpuId, int abovePrio)
    {
        using (source.Lock.EnterScope())
        {
            return source.Rq.FindFirst(abovePrio, t => t.AffinityMask.Contains(cpuId) && (t.MigrationDisabled == 0 || t.Cpu?.Id == cpuId)) is not null;
        }
    }

    /// <summary>
    /// Asks <paramref name="cpu"/> to move its running task at the next preemption point
    /// (stop_one_cpu_nowait(push_cpu_stop)); at most one such request in flight per CPU (push_busy).
    /// </summary>
    public static void RequestPushRunning(Cpu cpu)
    {
        using (cpu.Lock.EnterScope())
        {
            if (cpu.PushBusy || cpu.Running is not { } running || running.MigrationDisabled > 0)
            {
                return; // get_push_task(): none while busy, or when the runner is itself pinned
            }

            cpu.PushBusy = true;
        }

        cpu.SetPending(PendingWork.Stop);
    }

    /// <summary>
    /// The stopper, run by <paramref name="self"/>'s thread at <paramref name="running"/>'s preemption
    /// point (push_cpu_stop / migration_cpu_stop): re-check, then move the running task away if it
    /// must leave (affinity, hotplug) or a CPU running lower priority can take it. A task that pinned
    /// itself meanwhile gets MDF_PUSH: its outermost migrate_enable pushes it. True when it moved.
    /// </summary>
    public bool RunStopWork(Cpu self, RtTask running)
    {
        bool pushRequested;
        using (self.Lock.EnterScope())
        {
            Interlocked.And(ref self.PendingRef, ~PendingWork.Stop);
            pushRequested = self.PushBusy || running.MdfPush;
            self.PushBusy = false;
        }

        bool mustLeave = !running.AffinityMask.Contains(self.Id) || !self.Active;
        if (!mustLeave && !pushRequested)
        {
            return false;
        }

        if (running.MigrationDisabled > 0)
        {
            running.MdfPush = pushRequested;
            return false;
        }

        running.MdfPush = false;
        int target = mustLeave
            ? _scheduler.SelectFallbackCpu(running, exclude: self)
            : Placement.FindLowest(running.Prio, running.AffinityMask, self.Id, _cpus);
        if (target < 0 || (!mustLeave && _cpus[target].TopPrio >= running.Prio))
        {
            return false;
        }

        using (self.Lock.EnterScope())
        {
            self.LeaveRunningLocked(running);
        }

        _cpus[target].Enqueue(running);
        if (!mustLeave)
        {
            Interlocked.Increment(ref RunningPushes);
            if (RtEventSource.Log.IsEnabled())
            {
                RtEventSource.Log.PushRunning(running.Id, self.Id, target);
            }
        }

        return true;
    }
}
