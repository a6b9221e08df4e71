using RtRuntime.Cpus;
using RtRuntime.Diagnostics;
using RtRuntime.Tasks;

namespace RtRuntime.Scheduling;

/// <summary>
/// RT push/pull balancing (kernel/sched/rt.c) for the threaded runtime: a CPU pulls for itself when it
/// drops in priority or goes idle; a preempted migratable task is pushed to a CPU running lower
/// priority; a migrate-disable pile-up is repaired by moving the running higher-priority task away
/// (a7c81556ec4d), as the <see cref="BalancePolicy"/> allows. Every decision is a
/// <see cref="BalanceRules"/> or <see cref="Placement"/> call, the same the simulator makes; this class
/// only gathers their inputs under the run-queue locks (two at once in CPU-id order) and acts.
/// Moving a running task is always done by its own CPU at its next preemption point (the stopper
/// analogue, <see cref="RunStopWork"/>).
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
    public long RunningPushes; // pile-up repairs and the stopper's check_preempt_equal_prio moves (RunStopWork moves both)

    // rto_count: CPUs whose queue holds a task that could move (PushableTop ≥ 0). Changed only when a
    // CPU becomes or stops being overloaded, so the pull checks of every turn and idle entry read one
    // word that stays in their cache instead of every other CPU's priority line.
    private PaddedInt _overloaded;

    /// <summary>rt_set_overload / rt_clear_overload: a CPU's queue began or stopped holding a task that could move.</summary>
    public void OverloadChanged(bool overloaded) => Interlocked.Add(ref _overloaded.Value, overloaded ? 1 : -1);

    /// <summary>rt_overloaded(): some CPU may have a task to pull (racy, like the per-CPU values it summarises).</summary>
    private bool AnyOverloaded => Volatile.Read(ref _overloaded.Value) != 0;

    /// <summary>
    /// pull_rt_task: before <paramref name="self"/> picks, take the best waiting task of any other CPU
    /// that may run here and outranks everything queued here (<see cref="PullRounds"/>, shared with the
    /// simulator: sources tried from the highest pushable priority down, round after round). A
    /// migrate-disabled candidate cannot move: its CPU is asked to push its running task instead, if
    /// the policy repairs pile-ups on a pull. True when a source offered a task above
    /// this CPU's queue and none could be pulled (affinity, a migrate-disabled candidate, a race): an
    /// idle CPU must not spin on such an offer (see <see cref="HasPullable"/>).
    /// </summary>
    public bool PullIfBetter(Cpu self)
    {
        int droppedFrom = self.LastRunPrio;
        self.LastRunPrio = -1;
        if (!AnyOverloaded || !self.Active)
        {
            return false; // nothing anywhere to pull, or a dying or offline CPU (it takes no work)
        }

        int[] scratch = self.PullSources ??= new int[2 * _cpus.Length];
        var site = new BalancerPullSite(this, self, droppedFrom);
        return PullRounds.Run(ref site, self.Id, scratch.AsSpan(0, _cpus.Length), scratch.AsSpan(_cpus.Length));
    }

    /// <summary>One source's pull for <see cref="PullRounds"/>: the shared <see cref="PullScan"/> under both run-queue locks.</summary>
    internal bool PullFrom(Cpu source, Cpu self, int droppedFrom)
    {
        RtTask? pinned = null;
        RtTask? pulled = null;
        Cpu first = source.Id < self.Id ? source : self;
        Cpu second = source.Id < self.Id ? self : source;
        using (first.Lock.EnterScope())
        {
            using (second.Lock.EnterScope())
            {
                if (!self.Active)
                {
                    return false; // went inactive since the unlocked check
                }

                int myTop = self.QueuedTop;
                int sourceRunning = source.RunningPrio;
                int puller = self.Id;
                var filter = new PullCandidateFilter(puller, myTop, sourceRunning);
                RtTask? candidate = source.Rq.FindFirstPushable(myTop, ref filter); // BalanceRules.CanPull, under both locks
                if (candidate is not null)
                {
                    source.DequeueLocked(candidate);
                    self.EnqueueLocked(candidate, atHead: false);
                    pulled = candidate;
                }

                // A migrate-disabled candidate above what was pulled (or above nothing) is a pile-up.
                if (filter.Pinned is { } p && filter.Scan.PileUp(pulled?.Prio ?? -1))
                {
                    pinned = p;
                }
            }
        }

        if (pulled is not null)
        {
            Interlocked.Increment(ref Pulls);
        }

        if (pinned is not null)
        {
            if (RtEventSource.Log.On)
            {
                RtEventSource.Log.MigratePull(pinned.Id, source.Id);
            }

            if (BalanceRules.MayRepairPileUp(_scheduler.Policy, onPull: true, droppedFrom))
            {
                RequestPushRunning(source, onlyWithTarget: true, targetBelow: pinned.Prio);
            }
        }

        return pulled is not null;
    }

    /// <summary>A cheap racy check: does another CPU queue a pushable task above <paramref name="top"/> (one <see cref="PullIfBetter"/> would try)?</summary>
    public bool HasHigherQueued(Cpu self, int top)
    {
        if (!AnyOverloaded)
        {
            return false;
        }

        foreach (Cpu other in _cpus)
        {
            if (other != self && other.PushableTop > top)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A cheap racy check: has another CPU a push of its running task requested and not yet run (the stopper pending)?</summary>
    public bool PushInFlight(Cpu self)
    {
        foreach (Cpu other in _cpus)
        {
            if (other != self && Volatile.Read(ref other.PushTarget) is not null)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// A cheap racy check for idle CPUs: is there queued work another CPU could hand over? It reads
    /// only the other CPUs' highest pushable priorities, not whether those tasks may run on
    /// <paramref name="self"/>: after a pull that found such an offer and took nothing, the CPU parks
    /// anyway and looks again after <c>Cpu.PullRecheckNs</c>, instead of spinning on the offer.
    /// </summary>
    public bool HasPullable(Cpu self)
    {
        if (!AnyOverloaded || !self.Active)
        {
            return false;
        }

        foreach (Cpu other in _cpus)
        {
            int pushable = other.PushableTop;
            if (other != self && pushable >= 0 && pushable <= other.RunningPrio)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// push_rt_tasks after a preemption on <paramref name="self"/>: the queued tasks that will not run
    /// here next go to CPUs running lower priority, highest first (<see cref="PushBehindNext"/>); if the
    /// preempted task is migrate-disabled (a pile-up forms), the policy may instead move
    /// every task queued above it that another CPU would run now (they have not started here yet, so
    /// no stopper is needed), letting the pinned task resume. True when that repair moved a task: the
    /// CPU then falls back to the pinned task's priority, and must pull before it picks (a task waiting
    /// elsewhere above the pinned one, which no CPU looked at while the preempter was queued here).
    /// </summary>
    public bool AfterPreempt(Cpu self, RtTask preempted)
    {
        if (preempted.MigrationDisabled == 0)
        {
            PushBehindNext(self);
            return false;
        }

        if (!MayMoveAbove(self, preempted.Prio))
        {
            // Every task above the pinned one is bound here, or no CPU is busy below them: no pile-up
            // repair can help, so neither the repair below nor rt/balance has anything to do (its
            // lost-bandwidth sampling, which may still charge a CPU below a pinned task allowed there,
            // goes on at its tick); waking it would cost this switch a futex wake (10–60 µs here, paid
            // before the preempter runs).
            return false;
        }

        _scheduler.Rebalancer.Notify(BalanceReason.PinnedPreempted);
        if (!BalanceRules.MayRepairPileUp(_scheduler.Policy, onPull: false, pullerPreviousPrio: -1))
        {
            return false;
        }

        List<RtTask> above;
        using (self.Lock.EnterScope())
        {
            above = self.Rq.ToList(abovePrio: preempted.Prio); // not a copy of the whole queue under the lock
        }

        bool moved = false;
        foreach (RtTask runner in above)
        {
            moved |= PushQueued(self, runner, repair: true, belowPrio: preempted.Prio);
        }

        return moved;
    }

    /// <summary>
    /// push_rt_tasks once the preempter is picked (set_next_task_rt's rt_queue_push_tasks): the highest
    /// pushable task queued on <paramref name="self"/> that will not run there next (the queue's head
    /// does: the CPU picks it right after this), then the next, each to the lowest CPU if it runs below
    /// it (<see cref="PushQueued"/>), going on past one that finds none, as the simulator's push after
    /// its pick does. The kernel's pick_next_pushable_task offers the highest pushable task, not the
    /// preempted one: a push of the preempted task alone sent it to the lower CPU while a higher task
    /// queued behind the preempter waited here (cpu1 ran L 10 while M 40 waited under H 50 on cpu0),
    /// until rt/balance's next pass. Bounded like <see cref="PushWaiting"/>; without a pushable task
    /// queued (<see cref="Cpu.PushableTop"/>) it costs one read.
    /// </summary>
    private void PushBehindNext(Cpu self)
    {
        int skip = 0;
        for (int round = 0; round < _cpus.Length + PushWaitingScan.MaxLooked && self.PushableTop >= 0; round++)
        {
            RtTask? pushable;
            using (self.Lock.EnterScope())
            {
                // The head runs here next: when it is a migratable pushable task, it is the scan's first
                // (queue order), so it is passed over like a task already found no CPU for.
                RtTask? next = self.Rq.PeekHighest();
                int passNext = next is not null && next.QueuedPushable && next.MigrationDisabled == 0 ? 1 : 0;
                var filter = new PushableFilter { Scan = new PushWaitingScan { Skip = skip + passNext } };
                pushable = self.Rq.FindFirstPushable(-1, ref filter);
                if (filter.Scan.Exhausted)
                {
                    pushable = null;
                }
            }

            if (pushable is null || !AnyActiveBelow(self, pushable.Prio))
            {
                return; // no other CPU runs below it, nor below the tasks queued after it (an overloaded machine pays one scan)
            }

            if (!PushQueued(self, pushable))
            {
                skip++; // no CPU busy below it that its affinity allows: look past it
            }
        }
    }

    /// <summary>True when an active CPU other than <paramref name="self"/> is busy below <paramref name="prio"/> (published priorities, racy).</summary>
    private bool AnyActiveBelow(Cpu self, int prio)
    {
        foreach (Cpu cpu in _cpus)
        {
            if (cpu != self && cpu.Active && cpu.TopPrio < prio)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// True when a task queued on <paramref name="self"/> above <paramref name="prio"/> may migrate and
    /// another active CPU is busy below the pinned task (<paramref name="prio"/>): the only case in which
    /// a pinned task preempted there can be helped by moving its preempters (on a CPU busy between the
    /// two, a preempter would make that CPU's task wait instead of the pinned one). The published
    /// priorities, read without locks: a CPU that drops later is seen by rt/balance's next pass, as before.
    /// </summary>
    private bool MayMoveAbove(Cpu self, int prio)
    {
        int pushable = self.PushableTop;
        if (pushable <= prio)
        {
            return false;
        }

        foreach (Cpu cpu in _cpus)
        {
            if (cpu != self && cpu.Active && cpu.TopPrio < prio)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// push_rt_task for one queued task (its affinity changed in place): moved to the lowest CPU busy
    /// below it, unless it outranks what runs on <paramref name="self"/> (it runs there next).
    /// </summary>
    public void PushQueuedTask(Cpu self, RtTask task)
    {
        if (self.RunningPrio >= task.Prio)
        {
            PushQueued(self, task);
        }
    }

    /// <summary>
    /// Moves a task queued on <paramref name="self"/> to the lowest CPU if it would run there now:
    /// counted as a push, or with <paramref name="repair"/> as a running push (the pile-up repair:
    /// the task that preempted a pinned one moved away before it starts, as the stopper would move it
    /// once it runs; with a PushRunning event, as the stopper's move has), where the target must also run
    /// below <paramref name="belowPrio"/>, the pinned task's priority (<see cref="BalanceRules.ShouldPushQueued"/>).
    /// </summary>
    private bool PushQueued(Cpu self, RtTask task, bool repair = false, int belowPrio = int.MaxValue)
    {
        int target = Placement.FindLowest(task.Prio, task.AffinityMask, self.Id, _scheduler.CpuViews);
        if (!BalanceRules.ShouldPushQueued(task.Prio, task.MigrationDisabled, target, target < 0 ? int.MaxValue : _cpus[target].TopPrio, belowPrio))
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
                if (task.Cpu == self && task.Run == TaskRunState.Queued && self.Rq.Contains(task) && dest.Active
                    && task.AffinityMask.Contains(target) // the mask may have changed since FindLowest read it
                    && BalanceRules.ShouldPushQueued(task.Prio, task.MigrationDisabled, target, dest.TopPrio, belowPrio))
                {
                    self.DequeueLocked(task);
                    dest.EnqueueLocked(task, atHead: false);
                    moved = true;
                }
            }
        }

        if (moved)
        {
            if (repair)
            {
                Interlocked.Increment(ref RunningPushes);
                if (RtEventSource.Log.On)
                {
                    RtEventSource.Log.PushRunning(task.Id, self.Id, target);
                }
            }
            else
            {
                Interlocked.Increment(ref Pushes);
            }

            dest.KickIfIdle();
        }

        return moved;
    }

    /// <summary>balance_push: a migratable task taken off a dying CPU's queue goes to an active CPU (its affinity widened if needed).</summary>
    public void PushedOff(Cpu dying, RtTask task)
    {
        int target = _scheduler.SelectFallbackCpu(task, exclude: dying);
        _cpus[target].Enqueue(task);
        Interlocked.Increment(ref Pushes);
    }

    /// <summary>
    /// A rebalancer pass on <paramref name="cpu"/> (the simulator's tick does the same, through the shared
    /// <see cref="PushWaitingScan"/>): push the head pushable task, then the next, going on past a task
    /// that finds no CPU busy below it (<see cref="PushWaitingScan.Skip"/>); if a migrate-disabled task was
    /// passed over (a pile-up), the policy may ask the CPU to move its running task.
    /// With <paramref name="pastRunner"/> (the CPU has not reached a scheduling point for a tick) a task
    /// that outranks the running one is pushed too, to a CPU that runs below it: the threaded runtime's
    /// own rule, which the simulator's tick does not have (docs/simulator.md).
    /// </summary>
    public void PushWaiting(Cpu cpu, bool pastRunner = false)
    {
        // push_rt_tasks: push the highest pushable task, then the next. Only the first few pushable
        // tasks are looked at under the lock (no copy of a long queue). A task that finds no CPU busy
        // below it stays queued ahead, and the next scan passes over it (the kernel's push stops
        // there, and its pull, which this pass stands for after a drop, looks past it).
        int skip = 0;
        bool askedRepair = false;
        for (int round = 0; round < _cpus.Length + PushWaitingScan.MaxLooked; round++)
        {
            RtTask? pushable;
            var filter = new PushableFilter { Scan = new PushWaitingScan { Skip = skip } };
            using (cpu.Lock.EnterScope())
            {
                pushable = cpu.Rq.FindFirstPushable(-1, ref filter);
                if (filter.Scan.Exhausted)
                {
                    pushable = null;
                }
            }

            if (filter.Scan.PileUp && !askedRepair && BalanceRules.MayRepairPileUp(_scheduler.Policy, onPull: false, pullerPreviousPrio: -1))
            {
                RequestPushRunning(cpu, targetBelow: filter.Scan.PinnedPrio); // the stopper's target must run below the pinned task
                askedRepair = true;
            }

            // Only a task waiting behind a running task of its priority or higher is pushed; one its
            // CPU is about to run (it outranks what runs there) stays (the kernel's pushable tasks),
            // unless that CPU has not reached a scheduling point for a tick (pastRunner): with
            // cooperative preemption "about to run" holds only until the runner's next point.
            if (pushable is null || (!pastRunner && BalanceRules.ShouldPreempt(pushable.Prio, cpu.RunningPrio)))
            {
                return;
            }

            if (!PushQueued(cpu, pushable))
            {
                skip++; // no CPU busy below it: look past it
            }
        }
    }

    /// <summary>True when a task queued on <paramref name="source"/> above <paramref name="abovePrio"/> is allowed on <paramref name="cpuId"/> by its affinity, pinned or not (for lost-bandwidth accounting).</summary>
    public static bool HasWaiterAllowedOn(Cpu source, int cpuId, int abovePrio)
    {
        using (source.Lock.EnterScope())
        {
            var filter = new AllowedOnFilter(cpuId);
            return (source.Id == cpuId
                ? source.Rq.FindFirst(abovePrio, ref filter)
                : source.Rq.FindFirstPushable(abovePrio, ref filter)) is not null; // only a pushable task may be allowed elsewhere
        }
    }

    /// <summary>
    /// Asks <paramref name="cpu"/> to move its running task at the next preemption point
    /// (stop_one_cpu_nowait(push_cpu_stop)); at most one such request in flight per CPU (push_busy).
    /// The request names its target: if that task leaves the CPU first, the request lapses. With
    /// <paramref name="onlyWithTarget"/> (a pull's or a pinned wakeup's pile-up repair) only when some CPU
    /// runs below the runner, and below <paramref name="targetBelow"/>, now (<see cref="BalanceRules.PushRunningHasTarget"/>).
    /// The stopper holds its target to <paramref name="targetBelow"/> in any case: a pile-up's repair names
    /// the pinned task's priority (a runner moved onto a CPU running above it would only make that CPU's
    /// task wait instead of it).
    /// </summary>
    public static void RequestPushRunning(Cpu cpu, bool onlyWithTarget = false, int targetBelow = int.MaxValue)
    {
        using (cpu.Lock.EnterScope())
        {
            if (cpu.Running is not { } running
                || !BalanceRules.CanRequestPushRunning(cpu.PushTarget is not null, running.MigrationDisabled, running.AffinityMask))
            {
                return; // get_push_task(): none while busy, or when the runner is itself pinned
            }

            if (onlyWithTarget)
            {
                int target = Placement.FindLowest(running.Prio, running.AffinityMask, cpu.Id, cpu.Scheduler.CpuViews);
                if (!BalanceRules.PushRunningHasTarget(target, target >= 0 ? cpu.Scheduler.Cpus[target].TopPrio : int.MaxValue, Math.Min(running.Prio, targetBelow)))
                {
                    return;
                }
            }

            cpu.PushTarget = running;
            cpu.PushBelow = targetBelow; // the stopper holds the target to it too
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
        int pushBelow;
        using (self.Lock.EnterScope())
        {
            Interlocked.And(ref self.PendingRef, ~PendingWork.Stop);
            pushBelow = self.PushTarget == running ? self.PushBelow : int.MaxValue;
            pushRequested = self.PushTarget == running || running.RareOrNull?.MdfPush == true;
            self.PushTarget = null;
        }

        // A request that raised this stop work while the task already ran inside its new mask (it switched
        // in there before the request published its pending completion) is satisfied now.
        _scheduler.CompleteAffinityIfInside(self, running);
        bool mustLeave = Placement.MustLeave(running.AffinityMask, self.Id, _scheduler.CpuViews);
        if (!mustLeave && running.MigrationDisabled == 0 && !running.AffinityMask.Contains(self.Id))
        {
            _scheduler.CompleteAffinityMoveFailed(running); // its mask names no active CPU: the move fails, the request completes
        }

        if (BalanceRules.StopDefersPush(pushRequested, running.MigrationDisabled))
        {
            running.Rare.MdfPush = true;
            running.MigrateEnableWork = true; // its outermost migrate_enable pushes it
            return false;
        }

        if (!BalanceRules.StopMayMove(pushRequested, mustLeave, running.MigrationDisabled))
        {
            return false;
        }

        if (running.RareOrNull is { } rare)
        {
            rare.MdfPush = false;
        }

        int target = mustLeave
            ? _scheduler.SelectFallbackCpu(running, exclude: self)
            : Placement.FindLowest(running.Prio, running.AffinityMask, self.Id, _scheduler.CpuViews);
        if (!BalanceRules.StopTargetAcceptable(mustLeave, target, target < 0 ? int.MaxValue : _cpus[target].TopPrio, Math.Min(running.Prio, pushBelow)))
        {
            return false;
        }

        using (self.Lock.EnterScope())
        {
            // The stopper (a stop-class thread) preempted the task to move it: __schedule(SM_PREEMPT)
            // with prev != next counts nivcsw, as at any preemption. Counted before the task can be
            // seen elsewhere (its counts are written by the thread that runs it); never taken back,
            // since the stopper ran here (the dispatcher forgets its prev).
            running.PreemptionCount++;
            self.Preemptions++;
            self.LeaveRunningLocked(running);
        }

        Cpu queuedOn = _cpus[target].Enqueue(running);
        if (!mustLeave && queuedOn != self)
        {
            // A running push (a pile-up repair, or a check_preempt_equal_prio move): the runner left. The target may have gone inactive after it was chosen, and the
            // task was redirected (select_fallback_rq): named where it went; sent back here it is no
            // repair (it preempts the same tasks again), and counts none.
            Interlocked.Increment(ref RunningPushes);
            if (RtEventSource.Log.On)
            {
                RtEventSource.Log.PushRunning(running.Id, self.Id, queuedOn.Id);
            }
        }

        return true;
    }
}
