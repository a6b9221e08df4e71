using RtRuntime.Scheduling;

namespace RtRuntime.Simulation;

/// <summary>try_to_wake_up, enqueue, __schedule (pull, pick, switch), preemption points, block and exit.</summary>
internal sealed partial class SimEngine
{
    /// <summary>try_to_wake_up / wake_up_new_task: select_task_rq (shared <see cref="Placement"/>), enqueue, and the wakeup push.</summary>
    private void Activate(SimTask task, bool spawn)
    {
        int prev = spawn ? task.WakeHint : task.Cpu;
        int pinned = task.MigrationDisabled > 0 && task.Cpu >= 0 ? task.Cpu : -1;
        int target;
        if (_options.InjectFault == SimFault.NoBalancing)
        {
            target = pinned >= 0 ? pinned : prev >= 0 && task.Mask.Contains(prev) ? prev : task.Mask.First;
        }
        else
        {
            target = Placement.SelectCpu(task.Prio, task.Mask, pinned, prev, _cpus, sparePinned: _scenario.Policy == BalancePolicy.WorkConserving);
            if (target < 0)
            {
                target = Fallback(task, exclude: -1);
            }
        }

        Emit(target, task, spawn ? SimEventKind.Spawn : SimEventKind.Wakeup, spawn ? -1 : prev);
        SimCpu cpu = _cpus[target];
        Enqueue(cpu, task, atHead: false);
        if (cpu.Running is { } runner && !BalanceRules.ShouldPreempt(task.Prio, runner.Prio))
        {
            if (EqualPriorityMovesRunner(cpu, task, runner))
            {
                RequestPushRunning(cpu); // check_preempt_equal_prio: the runner leaves at its next preemption point
            }
            else
            {
                PushQueuedTasks(cpu); // task_woken_rt -> push_rt_tasks
                if (pinned >= 0 && _options.InjectFault != SimFault.NoBalancing && BalanceRules.PinnedWakeupRepairs(_scenario.Policy, task.Prio, runner.Prio))
                {
                    RequestPushRunning(cpu, onlyWithTarget: true, targetBelow: task.Prio); // the threaded RtScheduler.Activate: the runner moves so the pinned task runs
                }
            }
        }
    }

    /// <summary>check_preempt_equal_prio through <see cref="BalanceRules.EqualPriorityMovesRunner"/>.</summary>
    private bool EqualPriorityMovesRunner(SimCpu cpu, SimTask task, SimTask runner)
    {
        if (task.Prio != runner.Prio || cpu.StopPending || _options.InjectFault == SimFault.NoBalancing)
        {
            return false;
        }

        int elsewhere = Placement.FindLowest(task.Prio, task.Mask, cpu.Id, _cpus);
        int runnerTarget = Placement.FindLowest(runner.Prio, runner.Mask, cpu.Id, _cpus);
        return BalanceRules.EqualPriorityMovesRunner(
            task.Prio,
            elsewhere >= 0 ? _cpus[elsewhere].TopPrio : int.MaxValue,
            runner.Prio,
            runnerTarget >= 0 ? _cpus[runnerTarget].TopPrio : int.MaxValue);
    }

    private void Wake(SimTask task)
    {
        task.WaitingOn = null;
        task.BlockedOn = null;
        task.AffinityTarget = null;
        Activate(task, spawn: false);
    }

    /// <summary>enqueue_task + set_task_cpu; an idle CPU is kicked (it schedules before the event ends).</summary>
    /// <param name="cpu">The CPU.</param>
    /// <param name="task">The task.</param>
    /// <param name="atHead">At the head of its priority, else at the tail.</param>
    /// <param name="behind">A task to put it right behind when still queued there at its priority (a
    /// running task raised behind it: <see cref="SimCpu.RaisedBehind"/>), or null.</param>
    private void Enqueue(SimCpu cpu, SimTask task, bool atHead, SimTask? behind = null)
    {
        SetTaskCpu(task, cpu.Id);
        if (task.State != SimTaskState.Queued)
        {
            task.WaitSince = _now;
        }

        task.State = SimTaskState.Queued;
        if (behind is not null && cpu.IsQueuedAt(behind, task.Prio))
        {
            cpu.InsertAfter(task, behind);
        }
        else
        {
            cpu.Insert(task, atHead);
        }

        _queuedCount++;
        if (cpu.Running is null)
        {
            _kicked.Enqueue(cpu);
        }
    }

    private void Dequeue(SimCpu cpu, SimTask task)
    {
        cpu.Queue.Remove(task);
        _queuedCount--;
        if (cpu.Running is not null)
        {
            _rebalance = true; // a busy CPU's top priority may have dropped: the rebalancer re-pushes
        }
    }

    /// <summary>set_task_cpu: counts migrations, checks that pinned tasks never move, completes affinity waiters.</summary>
    private void SetTaskCpu(SimTask task, int cpu)
    {
        if (task.Cpu == cpu)
        {
            return;
        }

        if (task.Cpu >= 0)
        {
            if (task.MigrationDisabled > 0)
            {
                Violation(SimViolationKind.PinnedTaskMoved, $"{task.Name} moved cpu{task.Cpu}->cpu{cpu} at migrate-disable depth {task.MigrationDisabled}");
                _cpus[task.Cpu].NrPinned--;
                _cpus[cpu].NrPinned++;
            }

            task.Figures.Migrations++;
        }

        task.Cpu = cpu;
        if (task.AffinityWaiters is { Count: > 0 } && task.Mask.Contains(cpu))
        {
            CompleteAffinity(task);
        }
    }

    /// <summary>
    /// __schedule after prev left: pull_rt_task, pick_next_task, switch, then the post-schedule push.
    /// No pull while prev stays queued here (<paramref name="prevQueuedHere"/>: a preemption or a yield):
    /// the kernel's need_pull_rt_task is false then (prev's priority is still queued), and the threaded
    /// dispatcher picks without pulling (<c>PickDirect</c>,
    /// <c>YieldAndPick</c>). After a block, an exit or a move away (the stopper, a mask that excludes the
    /// CPU) the CPU pulls, as the threaded dispatcher's turn loop does (<c>Balancer.PullIfBetter</c>); so
    /// does a CPU whose pinned task's preempters were pushed away (<c>AfterPinnedPreempted</c>: it falls
    /// back to the pinned task's priority).
    /// </summary>
    /// <param name="cpu">The CPU whose running task left.</param>
    /// <param name="prevQueuedHere">The task that left is queued on this CPU again (preempted or yielded).</param>
    private void ScheduleCpu(SimCpu cpu, bool prevQueuedHere = false)
    {
        int droppedFrom = cpu.LastRunPrio;
        cpu.LastRunPrio = -1;
        cpu.RaisedBehind = null; // the next task comes from the head of its list
        if (cpu.Active && !prevQueuedHere)
        {
            Pull(cpu, droppedFrom);
        }

        if (cpu.Queue.Count == 0)
        {
            cpu.Prev = null; // the idle task runs: the next task switched in is a switch
            Emit(cpu.Id, null, SimEventKind.Idle);
            return;
        }

        SimTask next = cpu.Queue[0];
        Dequeue(cpu, next);
        SwitchIn(cpu, next);
        PushQueuedTasks(cpu); // set_next_task_rt -> rt_queue_push_tasks
    }

    private void SwitchIn(SimCpu cpu, SimTask task)
    {
        cpu.Running = task;
        cpu.SliceStart = _now - task.SliceUsedUs; // an RR task goes on with the rest of its own slice
        if (task != cpu.Prev)
        {
            cpu.Figures.Switches++; // prev == next (picked again after a yield): no switch, as in __schedule
            cpu.Prev = task;
        }

        task.State = SimTaskState.Running;
        task.SwitchGen++; // the script runner's generation: it resumes the task either way
        task.Figures.LastCpu = cpu.Id;
        task.Figures.MaxWaitUs = Math.Max(task.Figures.MaxWaitUs, _now - task.WaitSince);
        Emit(cpu.Id, task, SimEventKind.SwitchIn);
        _toContinue.Enqueue(task);
    }

    /// <summary>
    /// The running task leaves its CPU; a stop request for it dies with it (push_cpu_stop finds it gone).
    /// An RR task keeps the part of its slice it used, as the threaded runtime's does.
    /// </summary>
    private void LeaveCpu(SimCpu cpu, SimTask task)
    {
        task.SliceUsedUs = task.Policy == Tasks.SchedPolicy.RoundRobin ? _now - cpu.SliceStart : 0;
        cpu.Running = null;
        cpu.LastRunPrio = task.Prio;
        cpu.StopPending = false;
        cpu.PushBusy = false;
    }

    /// <summary>The end of a Run segment: account the computation, then a preemption point.</summary>
    private void EndSegment(SimTask task)
    {
        if (task.SpinStartUs >= 0)
        {
            EndTimerSpin(task);
        }

        task.RunLeft -= task.SegmentUs;
        task.SegmentUs = 0;
        if (task.RunLeft <= 0)
        {
            task.RunLeft = -1;
            task.Pc++;
        }

        int gen = task.SwitchGen;
        PreemptionPoint(task);
        if (task.State == SimTaskState.Running && task.SwitchGen == gen)
        {
            _toContinue.Enqueue(task); // else its switch-in already queued the continuation
        }
    }

    /// <summary>
    /// A preemption point (cond_resched, preempt_enable reaching 0, the end of a Run segment): nothing
    /// while preempt-disabled; else the stopper's work first, then need_resched (a strictly higher
    /// priority queued here, or a task it was raised behind: <see cref="SimCpu.RunsBehindQueued"/>) or the
    /// SCHED_RR slice rotation.
    /// </summary>
    private void PreemptionPoint(SimTask task)
    {
        SimCpu cpu = _cpus[task.Cpu];
        task.PointUs = _now;
        task.PointGen = task.SwitchGen;
        if (task.PreemptCount != 0 && !(cpu.QueuedTop > task.Prio && TakeFault(SimFault.SwitchOutPreemptDisabled)))
        {
            return;
        }

        TakeSchedRequest(task); // the slow path's step end (the stopper's bit brought the task here)
        if (cpu.StopPending && RunStop(cpu, task))
        {
            return;
        }

        // Raised while it ran to a priority tasks were queued at: it is behind them in its list, and the
        // reschedule pending since one of them was to preempt it runs the head of that list (the threaded
        // Cpu._raisedBehind). One whose task ahead left the queue keeps its place at the head of the level.
        SimTask? ahead = cpu.RaisedBehind;
        bool behind = cpu.RunsBehindQueued;
        bool preempt = behind || BalanceRules.ShouldPreempt(cpu.QueuedTop, task.Prio);
        bool sliceExpired = SliceExpired(cpu, task);
        if (sliceExpired)
        {
            cpu.SliceStart = _now;
        }

        bool rotate = BalanceRules.ShouldRotateRoundRobin(task.Policy, sliceExpired, cpu.HasQueuedAt(task.Prio));
        if (!preempt && !rotate)
        {
            return;
        }

        CheckSwitchOut(task);
        LeaveCpu(cpu, task);
        Emit(cpu.Id, task, SimEventKind.Preempt);
        Requeue(cpu, task, atHead: preempt && !rotate, behind: behind && !rotate ? ahead : null);
        bool repaired = task.MigrationDisabled > 0 && AfterPinnedPreempted(cpu, task);

        // A pinned task whose preempters were pushed away: the CPU falls back to its priority and pulls
        // first (the threaded Balancer.AfterPreempt's true), as after a move away.
        ScheduleCpu(cpu, prevQueuedHere: task.Cpu == cpu.Id && !repaired);
        if (cpu.Running != task)
        {
            // Counted only once another task (or the idle task) ran here: picked again at once (its
            // preempters pushed away on sight) is no switch, as __schedule counts nivcsw only when
            // prev != next (the threaded Cpu.SwitchIn takes such a preemption back).
            task.Figures.Preemptions++;
        }
    }

    /// <summary>The running SCHED_RR <paramref name="task"/>'s slice on <paramref name="cpu"/> has run out.</summary>
    private bool SliceExpired(SimCpu cpu, SimTask task) =>
        task.Policy == Tasks.SchedPolicy.RoundRobin && _now - cpu.SliceStart >= _scenario.RoundRobinSliceUs;

    /// <summary>A task switched out while runnable goes back to its queue, unless its affinity now excludes this CPU.</summary>
    /// <param name="cpu">The CPU it left.</param>
    /// <param name="task">The task.</param>
    /// <param name="atHead">At the head of its priority (preempted), else at the tail.</param>
    /// <param name="behind">A task queued here to put it right behind (raised behind it while running), or null.</param>
    private void Requeue(SimCpu cpu, SimTask task, bool atHead, SimTask? behind = null)
    {
        if (task.MigrationDisabled == 0 && Placement.MustLeave(task.Mask, cpu.Id, _cpus))
        {
            int target = Fallback(task, exclude: cpu.Id);
            Emit(target, task, SimEventKind.Migrate, cpu.Id);
            Enqueue(_cpus[target], task, atHead: false);
            return;
        }

        if (task.MigrationDisabled > 0 && TakeFault(SimFault.MovePinnedTask) && _cpus.Length > 1)
        {
            Enqueue(_cpus[(cpu.Id + 1) % _cpus.Length], task, atHead);
            return;
        }

        Enqueue(cpu, task, atHead, behind);
        if (TakeFault(SimFault.DuplicatePreemptedTask))
        {
            _ghost = task;
        }
    }

    private SimTask? _ghost;

    private void CheckSwitchOut(SimTask task)
    {
        if (task.PreemptCount != 0)
        {
            Violation(SimViolationKind.PreemptDisabledSwitchedOut, $"{task.Name} switched out at preempt depth {task.PreemptCount}");
        }
    }

    /// <summary>
    /// schedule() from a blocking step: "scheduling while atomic" resets the depth, as schedule_debug() does.
    /// A migratable task with an affinity request pending completes it as it blocks: its wakeup places it
    /// inside the new mask.
    /// </summary>
    private void Block(SimTask task, SimTaskState state)
    {
        ReportIfAtomic(task);
        TakeSchedRequest(task);
        SimCpu cpu = _cpus[task.Cpu];
        LeaveCpu(cpu, task);
        task.State = state;
        Emit(cpu.Id, task, SimEventKind.Block);
        ScheduleCpu(cpu);

        // The request's stop work died with the switch-out (LeaveCpu): the kernel's migration_cpu_stop
        // finds the task asleep, sets its wake_cpu and completes; the threaded runtime completes at the
        // block (OnBlockedMigratable). Before, the callers waited for the task's wakeup, for ever if none came.
        if (task.MigrationDisabled == 0 && task.IsBlocked && task.AffinityWaiters is { Count: > 0 })
        {
            CompleteAffinity(task);
        }
    }

    private void ExitTask(SimTask task)
    {
        SimCpu cpu = _cpus[task.Cpu];
        if (task.MigrationDisabled > 0 || task.PreemptCount > 0)
        {
            Bug(task, $"exited with preempt depth {task.PreemptCount} and migrate-disable depth {task.MigrationDisabled}; released");
            if (task.MigrationDisabled > 0)
            {
                cpu.NrPinned--;
            }

            task.MigrationDisabled = 0;
            task.PreemptCount = 0;
        }

        ReleaseHeldAtExit(task);
        task.SchedRequest = null; // an ended task is left as it is
        task.BoostPending = false;
        LeaveCpu(cpu, task);
        task.State = SimTaskState.Exited;
        task.Figures.ExitUs = _now;
        Emit(cpu.Id, task, SimEventKind.Exit);
        if (task.AffinityWaiters is { Count: > 0 })
        {
            CompleteAffinity(task);
        }

        ScheduleCpu(cpu);
    }
}
