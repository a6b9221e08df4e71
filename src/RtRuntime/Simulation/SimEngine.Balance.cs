using RtRuntime.Cpus;
using RtRuntime.Scheduling;

namespace RtRuntime.Simulation;

/// <summary>
/// RT push/pull (kernel/sched/rt.c) through the shared <see cref="BalanceRules"/> and <see cref="Placement"/>:
/// pull_rt_task when a CPU schedules (and, for idle CPUs, after every event), push_rt_tasks after a
/// switch and on a wakeup that does not preempt, the pile-up repair (a7c81556ec4d) as the policy allows,
/// the stopper (push_cpu_stop / migration_cpu_stop), and the periodic safety-net tick.
/// </summary>
internal sealed partial class SimEngine
{
    /// <summary>
    /// pull_rt_task for <paramref name="cpu"/>: the threaded Balancer's rounds (<see cref="PullRounds"/>,
    /// shared code): sources tried from the highest pushable priority down until one yields a task, then
    /// again above what was pulled, until a round pulls nothing. True when a task was pulled.
    /// </summary>
    private bool Pull(SimCpu cpu, int droppedFrom)
    {
        if (_queuedCount == 0 || _options.InjectFault == SimFault.NoBalancing)
        {
            return false;
        }

        long before = _pulls;
        var site = new SimPullSite(this, cpu, droppedFrom);
        PullRounds.Run(ref site, cpu.Id, _pullIds, _pullTops);
        return _pulls != before;
    }

    /// <summary>The highest queued priority on <paramref name="cpu"/> among tasks whose affinity allows another CPU (the runtime's PushableTop), or −1.</summary>
    internal int PushableTop(int cpu)
    {
        foreach (SimTask t in _cpus[cpu].Queue)
        {
            if (!IsSoleOn(t, cpu))
            {
                return t.Prio;
            }
        }

        return -1;
    }

    internal int QueuedTop(int cpu) => _cpus[cpu].QueuedTop;

    internal int CpuCount => _cpus.Length;

    internal SimCpu Cpu(int id) => _cpus[id];

    private static bool IsSoleOn(SimTask t, int cpu) => t.Mask.Contains(cpu) && t.Mask.Sole == cpu;

    /// <summary>
    /// One source's pull (the threaded Balancer.PullFrom): the shared <see cref="PullScan"/> over the
    /// source's pushable tasks above the puller's queue; a migrate-disabled candidate above what was
    /// pulled (or above nothing) is a pile-up: its CPU is asked to push its running task, if the policy allows.
    /// </summary>
    internal bool PullFrom(SimCpu source, SimCpu cpu, int droppedFrom)
    {
        int myTop = cpu.QueuedTop;
        var scan = new PullScan(cpu.Id, myTop, source.RunningPrio);
        SimTask? pulled = null;
        foreach (SimTask t in source.Queue)
        {
            if (t.Prio <= myTop)
            {
                break;
            }

            if (!IsSoleOn(t, source.Id) && scan.Take(t.Prio, t.Mask, t.MigrationDisabled))
            {
                pulled = t;
                break;
            }
        }

        if (pulled is not null)
        {
            Dequeue(source, pulled);
            Emit(cpu.Id, pulled, SimEventKind.Pull, source.Id);
            pulled.Figures.Pulls++;
            _pulls++;
            Enqueue(cpu, pulled, atHead: false);
        }

        if (scan.PileUp(pulled?.Prio ?? -1) && BalanceRules.MayRepairPileUp(_scenario.Policy, onPull: true, droppedFrom))
        {
            RequestPushRunning(source, onlyWithTarget: true, targetBelow: scan.PinnedPrio);
        }

        return pulled is not null;
    }

    /// <summary>Idle CPUs pull (lowest id first). True when one took work.</summary>
    private bool IdlePulls()
    {
        bool any = false;
        foreach (SimCpu cpu in _cpus)
        {
            if (cpu.Running is null && cpu.Queue.Count == 0 && cpu.Active)
            {
                int dropped = cpu.LastRunPrio;
                cpu.LastRunPrio = -1;
                if (Pull(cpu, dropped))
                {
                    any = true;
                }
            }
        }

        return any;
    }

    /// <summary>
    /// push_rt_tasks from <paramref name="cpu"/>: every queued migratable task that will not run here next
    /// goes to the lowest CPU (<see cref="Placement.FindLowest"/>) if that one is busy below it.
    /// </summary>
    private void PushQueuedTasks(SimCpu cpu)
    {
        if (cpu.Queue.Count == 0 || cpu.Running is null || _options.InjectFault == SimFault.NoBalancing)
        {
            return;
        }

        int i = 0;
        while (i < cpu.Queue.Count)
        {
            SimTask t = cpu.Queue[i];
            if (BalanceRules.ShouldPreempt(t.Prio, cpu.RunningPrio))
            {
                return; // it runs here at the next preemption point (push_rt_task: resched_curr)
            }

            if (!TryPushQueued(cpu, t))
            {
                i++;
            }
        }
    }

    /// <summary>
    /// The threaded Balancer.PushQueuedTask (a queued task's affinity changed in place): push_rt_task for
    /// that task alone, unless it outranks what runs on <paramref name="cpu"/> (it runs there next).
    /// </summary>
    private void PushQueuedTask(SimCpu cpu, SimTask t)
    {
        if (cpu.Running is not null && !BalanceRules.ShouldPreempt(t.Prio, cpu.RunningPrio) && _options.InjectFault != SimFault.NoBalancing)
        {
            TryPushQueued(cpu, t);
        }
    }

    /// <summary>The threaded Balancer's PushQueued: a push, or with <paramref name="repair"/> a pile-up repair (a running push), to a CPU running below <paramref name="belowPrio"/> too (the pinned task's priority).</summary>
    private bool TryPushQueued(SimCpu cpu, SimTask t, bool repair = false, int belowPrio = int.MaxValue)
    {
        if (t.MigrationDisabled > 0)
        {
            return false;
        }

        int target = Placement.FindLowest(t.Prio, t.Mask, cpu.Id, _cpus);
        if (!BalanceRules.ShouldPushQueued(t.Prio, t.MigrationDisabled, target, target >= 0 ? _cpus[target].TopPrio : int.MaxValue, belowPrio))
        {
            return false;
        }

        Dequeue(cpu, t);
        Emit(target, t, repair ? SimEventKind.PushRunning : SimEventKind.Push, cpu.Id);
        t.Figures.Pushes++;
        if (repair)
        {
            _runningPushes++;
        }
        else
        {
            _pushes++;
        }

        Enqueue(_cpus[target], t, atHead: false);
        return true;
    }

    /// <summary>
    /// A migrate-disabled task was just preempted on <paramref name="cpu"/> (a pile-up forms). The
    /// threaded Balancer's AfterPreempt: when the policy repairs on sight, every task queued above the
    /// pinned one is pushed, highest first, to a CPU busy below it before it runs (a running push), going
    /// on past one that finds no CPU (one affine to this CPU alone), so the pinned task keeps its CPU.
    /// True when a task moved: the CPU falls back to the pinned task's priority and pulls before it picks.
    /// </summary>
    private bool AfterPinnedPreempted(SimCpu cpu, SimTask preempted)
    {
        if (!BalanceRules.MayRepairPileUp(_scenario.Policy, onPull: false, pullerPreviousPrio: -1) || _options.InjectFault == SimFault.NoBalancing)
        {
            return false;
        }

        SimTask[] above = [.. cpu.Queue.Where(t => t.Prio > preempted.Prio)]; // the runtime's Rq.ToList(abovePrio)
        bool moved = false;
        foreach (SimTask runner in above)
        {
            moved |= TryPushQueued(cpu, runner, repair: true, belowPrio: preempted.Prio);
        }

        return moved;
    }

    /// <summary>
    /// stop_one_cpu_nowait(push_cpu_stop) via get_push_task, as the threaded Balancer.RequestPushRunning:
    /// ask <paramref name="cpu"/> to move its running task at its next preemption point, when none is in
    /// flight and the runner is migratable (<see cref="BalanceRules.CanRequestPushRunning"/>), and with
    /// <paramref name="onlyWithTarget"/> (a pull's or a pinned wakeup's pile-up repair) only when some CPU
    /// runs below the runner, and below <paramref name="targetBelow"/>, now (<see cref="BalanceRules.PushRunningHasTarget"/>). Where it goes is decided then, by the
    /// stopper (<see cref="RunStop"/>): a CPU that drops before that point takes it.
    /// </summary>
    private void RequestPushRunning(SimCpu cpu, bool onlyWithTarget = false, int targetBelow = int.MaxValue)
    {
        if (cpu.Running is not { } runner || !BalanceRules.CanRequestPushRunning(cpu.PushBusy, runner.MigrationDisabled, runner.Mask))
        {
            return;
        }

        if (onlyWithTarget)
        {
            int target = Placement.FindLowest(runner.Prio, runner.Mask, cpu.Id, _cpus);
            if (!BalanceRules.PushRunningHasTarget(target, target >= 0 ? _cpus[target].TopPrio : int.MaxValue, Math.Min(runner.Prio, targetBelow)))
            {
                return;
            }
        }

        cpu.PushBusy = true;
        cpu.PushBelow = targetBelow; // the stopper holds the target to it too (a pile-up's repair: the pinned task's priority)
        cpu.StopPending = true;
        Emit(cpu.Id, runner, SimEventKind.PushRequested);
    }

    /// <summary>
    /// The stopper at <paramref name="task"/>'s preemption point (push_cpu_stop / migration_cpu_stop):
    /// re-check, defer to migrate_enable (MDF_PUSH) if the task pinned itself meanwhile, else move it.
    /// True when the task left the CPU.
    /// </summary>
    private bool RunStop(SimCpu cpu, SimTask task)
    {
        int pushBelow = cpu.PushBusy ? cpu.PushBelow : int.MaxValue;
        bool pushRequested = cpu.PushBusy || task.MdfPush;
        cpu.PushBusy = false;
        cpu.StopPending = false;
        bool mustLeave = Placement.MustLeave(task.Mask, cpu.Id, _cpus);
        if (!mustLeave && task.MigrationDisabled == 0 && !task.Mask.Contains(cpu.Id) && task.AffinityWaiters is { Count: > 0 })
        {
            CompleteAffinity(task); // its mask names no active CPU: __migrate_task fails, the request completes (the threaded RunStopWork's too)
        }

        if (BalanceRules.StopDefersPush(pushRequested, task.MigrationDisabled))
        {
            task.MdfPush = true;
            Emit(cpu.Id, task, SimEventKind.PushDeferred);
            return false;
        }

        if (!BalanceRules.StopMayMove(pushRequested, mustLeave, task.MigrationDisabled))
        {
            return false;
        }

        task.MdfPush = false;
        int target = mustLeave ? Fallback(task, exclude: cpu.Id) : Placement.FindLowest(task.Prio, task.Mask, cpu.Id, _cpus);
        if (!BalanceRules.StopTargetAcceptable(mustLeave, target, target >= 0 ? _cpus[target].TopPrio : int.MaxValue, Math.Min(task.Prio, pushBelow)))
        {
            return false;
        }

        CheckSwitchOut(task);
        LeaveCpu(cpu, task);
        task.Figures.Preemptions++; // the stopper preempted it (nivcsw, prev != next), as the threaded Balancer.RunStopWork counts
        cpu.Prev = null; // the stopper ran here: the next task picked is switched in from it
        Emit(target, task, mustLeave ? SimEventKind.Migrate : SimEventKind.PushRunning, cpu.Id);
        if (!mustLeave)
        {
            task.Figures.Pushes++;
            _runningPushes++;
        }

        task.State = SimTaskState.Queued;
        task.WaitSince = _now;
        Enqueue(_cpus[target], task, atHead: false);
        ScheduleCpu(cpu); // the kernel pulls after the stopper, and so does the threaded turn loop after RunStopWork moved the task
        return true;
    }

    /// <summary>select_fallback_rq: the lowest allowed active CPU; if none, the affinity is widened to every CPU.</summary>
    private int Fallback(SimTask task, int exclude)
    {
        int target = Placement.FindLowest(task.Prio, task.Mask, exclude, _cpus);
        if (target >= 0)
        {
            return target;
        }

        Bug(task, $"process {task.Id} ({task.Name}) no longer affine to cpu{(exclude >= 0 ? exclude : task.Mask.First)}");
        task.Mask = CpuSet.Range(0, _cpus.Length);
        target = Placement.FindLowest(task.Prio, task.Mask, exclude, _cpus);
        return target >= 0 ? target : Math.Max(exclude, 0);
    }

    /// <summary>
    /// The rebalancer's periodic safety net: the threaded rebalancer's pass (<c>Balancer.PushWaiting</c>)
    /// on every CPU, through the shared <see cref="PushWaitingScan"/>.
    /// </summary>
    private void Tick()
    {
        _ticks++;
        if (_queuedCount == 0 || _options.InjectFault == SimFault.NoBalancing)
        {
            return;
        }

        foreach (SimCpu cpu in _cpus)
        {
            PushWaiting(cpu);
        }
    }

    /// <summary>
    /// Balancer.PushWaiting: push the head pushable task (the first migratable one among the first
    /// <see cref="PushWaitingScan.MaxLooked"/> pushable tasks), then the next, going on past a task that
    /// finds no CPU busy below it (<see cref="PushWaitingScan.Skip"/>); a migrate-disabled task passed over
    /// is a pile-up: its CPU is asked to push its running task, as the policy allows. A pinned task behind
    /// the head is left to later events.
    /// </summary>
    private void PushWaiting(SimCpu cpu)
    {
        bool repairs = BalanceRules.MayRepairPileUp(_scenario.Policy, onPull: false, pullerPreviousPrio: -1);
        int skip = 0;
        for (int round = 0; round < _cpus.Length + PushWaitingScan.MaxLooked; round++)
        {
            var scan = new PushWaitingScan { Skip = skip };
            SimTask? pushable = null;
            foreach (SimTask t in cpu.Queue)
            {
                if (!IsSoleOn(t, cpu.Id) && scan.Take(t.Prio, t.MigrationDisabled))
                {
                    pushable = scan.Exhausted ? null : t;
                    break;
                }
            }

            if (scan.PileUp && repairs)
            {
                RequestPushRunning(cpu, targetBelow: scan.PinnedPrio); // as Balancer.PushWaiting: a target below the pinned task
            }

            if (pushable is null || BalanceRules.ShouldPreempt(pushable.Prio, cpu.RunningPrio))
            {
                return;
            }

            if (!TryPushQueued(cpu, pushable))
            {
                skip++; // no CPU busy below it: look past it
            }
        }
    }
}
