using RtRuntime.Scheduling;

namespace RtRuntime.Simulation;

/// <summary>Runs a task's script: instantaneous steps at once, Run steps as segments ending in preemption points.</summary>
internal sealed partial class SimEngine
{
    private const int MaxPreemptDepth = Tasks.PreemptGuard.MaxDepth;

    // The threaded MigrateGuard's limit: before it, a scenario could nest migrate_disable without bound.
    private const int MaxMigrateDepth = Tasks.MigrateGuard.MaxDepth;

    /// <summary>Runs <paramref name="task"/>'s steps until it starts a Run segment or leaves its CPU.</summary>
    private void Continue(SimTask task)
    {
        if (task.PendingLock is { } pending && !ClaimLock(task, pending))
        {
            return; // robbed of the mutex it was handed: it blocked again
        }

        int gen = task.SwitchGen;
        while (task.State == SimTaskState.Running && task.SwitchGen == gen)
        {
            if (task.Pc >= task.Steps.Length)
            {
                ExitTask(task);
                return;
            }

            SimStep step = task.Steps[task.Pc];
            switch (step.Kind)
            {
                case SimStepKind.Run:
                    if (task.RunLeft < 0)
                    {
                        task.RunLeft = step.DurationUs;
                    }

                    task.SegmentUs = step.EveryUs > 0 ? Math.Min(step.EveryUs, task.RunLeft) : task.RunLeft;
                    if (!AnticipateTimer(task))
                    {
                        Post(_now + task.SegmentUs, SimEventType.SegmentEnd, task, gen: ++task.SegmentGen);
                    }

                    return;
                case SimStepKind.PreemptionPoint:
                    task.Pc++;
                    PreemptionPoint(task);
                    break;
                case SimStepKind.Yield:
                    task.Pc++;
                    YieldTask(task);
                    break;
                case SimStepKind.PreemptDisable:
                    task.Pc++;
                    _ = PreemptDisable(task);
                    break;
                case SimStepKind.PreemptEnable:
                    task.Pc++;
                    PreemptEnable(task, "preempt_enable");
                    break;
                case SimStepKind.MigrateDisable:
                    task.Pc++;
                    _ = MigrateDisable(task);
                    break;
                case SimStepKind.MigrateEnable:
                    task.Pc++;
                    MigrateEnable(task);
                    break;
                case SimStepKind.Sleep:
                    task.Pc++;
                    if (step.DurationUs == 0 && SleepZeroReturns(task))
                    {
                        break;
                    }

                    if (!LoseOnBlock(task))
                    {
                        _sleeping.Add(task);
                    }

                    Block(task, SimTaskState.Sleeping);
                    task.SleepUntilUs = _now + step.DurationUs;
                    Post(task.SleepUntilUs, SimEventType.SleepEnd, task);
                    break;
                case SimStepKind.Wait:
                    task.Pc++;
                    WaitOn(task, GetEvent(step.Target!));
                    break;
                case SimStepKind.Signal:
                    task.Pc++;
                    Signal(GetEvent(step.Target!));
                    break;
                case SimStepKind.SetAffinity:
                    task.Pc++;
                    SetAffinity(task, _byName[step.Target!], step.Cpus);
                    break;
                case SimStepKind.SetPriority:
                    task.Pc++;
                    SetScheduler(task, step.Target is null ? task : _byName[step.Target], null, step.Count);
                    break;
                case SimStepKind.SetScheduler:
                    task.Pc++;
                    SetScheduler(task, step.Target is null ? task : _byName[step.Target], step.Policy, step.Count);
                    break;
                case SimStepKind.Lock:
                    task.Pc++;
                    _ = Lock(task, GetMutex(step.Target!), step.DurationUs);
                    break;
                case SimStepKind.TryLock:
                    task.Pc++;
                    TryLock(task, GetMutex(step.Target!));
                    break;
                case SimStepKind.Unlock:
                    task.Pc++;
                    _ = Unlock(task, GetMutex(step.Target!));
                    break;
                case SimStepKind.LocalLock:
                    task.Pc++;
                    LocalLock(task, step.Target!);
                    break;
                case SimStepKind.LocalUnlock:
                    task.Pc++;
                    LocalUnlock(task, step.Target!);
                    break;
                case SimStepKind.TryLocalLock:
                    task.Pc++;
                    TryLocalLock(task, step.Target!);
                    break;
                default:
                    task.Pc = task.Steps.Length;
                    ExitTask(task);
                    return;
            }
        }
    }

    private bool LoseOnBlock(SimTask task) => TakeFault(SimFault.LoseBlockedTask) && task.State == SimTaskState.Running;

    private SimWaitQueue GetEvent(string name) => Named(_events, name, static n => new SimWaitQueue(n));

    private SimMutex GetMutex(string name) => Named(_mutexes, name, static n => new SimMutex(n));

    /// <summary>The event or RtMutex a script names, created at its first use.</summary>
    private static T Named<T>(Dictionary<string, T> byName, string name, Func<string, T> create)
    {
        if (!byName.TryGetValue(name, out T? found))
        {
            found = create(name);
            byName.Add(name, found);
        }

        return found;
    }

    private void WaitOn(SimTask task, SimWaitQueue queue)
    {
        if (queue.Count > 0)
        {
            queue.Count--;
            return;
        }

        TakeSchedRequest(task); // the step ends: before the task is listed at its priority
        task.WaitingOn = queue;
        if (!LoseOnBlock(task))
        {
            queue.Add(task);
        }

        Block(task, SimTaskState.Waiting);
    }

    private void Signal(SimWaitQueue queue)
    {
        if (queue.Waiters.Count == 0)
        {
            queue.Count++;
            return;
        }

        SimTask waiter = queue.Waiters[0];
        queue.Waiters.RemoveAt(0);
        Wake(waiter);
    }

    /// <summary>
    /// <c>{"sleep": 0}</c>, as the threaded <c>Sleep(TimeSpan.Zero)</c> (<c>SleepAwaitable.TryPrepare</c>):
    /// its deadline has passed, so it returns at once, without a switch, unless its CPU has work pending
    /// (the runtime's pending word, which it reads instead of the clock: what a preemption point here
    /// would act on, <see cref="PointHasWork"/>); then it blocks as any sleep does and its timer wakes it
    /// at the same instant. Preempt-disabled it is "scheduling while atomic" either way (the runtime
    /// throws at the call): reported, and the depth reset. True when the step is over.
    /// </summary>
    private bool SleepZeroReturns(SimTask task)
    {
        ReportIfAtomic(task);
        return !PointHasWork(task);
    }

    /// <summary>
    /// The simulator's view of the threaded CPU's pending word (<c>PendingWork</c>) for its running
    /// <paramref name="task"/>: a scheduling request or boost to take (Stop), the stopper's work
    /// (Stop), a task it must yield to (NeedResched), an expired SCHED_RR slice (Timer).
    /// </summary>
    private bool PointHasWork(SimTask task)
    {
        SimCpu cpu = _cpus[task.Cpu];
        return task.SchedRequest is not null || task.BoostPending || cpu.StopPending
            || cpu.RunsBehindQueued || BalanceRules.ShouldPreempt(cpu.QueuedTop, task.Prio) || SliceExpired(cpu, task);
    }

    /// <summary>A blocking or yielding step preempt-disabled: "scheduling while atomic", reported, and the depth reset as schedule_debug() does.</summary>
    private void ReportIfAtomic(SimTask task)
    {
        if (task.PreemptCount != 0)
        {
            Bug(task, $"BUG: scheduling while atomic: {task.Name}/{task.Id}/0x{task.PreemptCount:x8}");
            task.PreemptCount = 0;
        }
    }

    /// <summary>sched_yield: yield_task_rt requeues at the tail of its priority, then schedule().</summary>
    private void YieldTask(SimTask task)
    {
        ReportIfAtomic(task);
        TakeSchedRequest(task);
        SimCpu cpu = _cpus[task.Cpu];
        LeaveCpu(cpu, task);
        Emit(cpu.Id, task, SimEventKind.Yield);
        Requeue(cpu, task, atHead: false);
        ScheduleCpu(cpu, prevQueuedHere: task.Cpu == cpu.Id);
    }

    /// <summary>preempt_disable: at <see cref="MaxPreemptDepth"/> reported and ignored; false then.</summary>
    private bool PreemptDisable(SimTask task)
    {
        if (task.PreemptCount >= MaxPreemptDepth)
        {
            Bug(task, $"preempt_count overflow: depth {task.PreemptCount} (max {MaxPreemptDepth}); ignored");
            return false;
        }

        task.PreemptCount++;
        return true;
    }

    /// <summary>preempt_enable: reaching 0 with a switch or stop work pending is a preemption point (__preempt_schedule).</summary>
    private void PreemptEnable(SimTask task, string what)
    {
        if (task.PreemptCount == 0)
        {
            Bug(task, $"{what} underflow: depth already 0; ignored");
            return;
        }

        if (--task.PreemptCount == 0 && SwitchDue(task))
        {
            PreemptionPoint(task);
        }
    }

    private bool SwitchDue(SimTask task)
    {
        SimCpu cpu = _cpus[task.Cpu];
        return cpu.StopPending || BalanceRules.ShouldPreempt(cpu.QueuedTop, task.Prio) || cpu.RunsBehindQueued;
    }

    /// <summary>
    /// migrate_disable: nested calls only count; the outermost one pins (nr_pinned + 1). NonRt: preempt_disable.
    /// At the threaded runtime's limit (<see cref="Tasks.MigrateGuard.MaxDepth"/>, where the kernel's
    /// DEBUG_PREEMPT check warns: half its u16 counter) it is reported and ignored, as a preempt_disable
    /// at its limit is; false then.
    /// </summary>
    private bool MigrateDisable(SimTask task)
    {
        if (_scenario.Model == PreemptionModel.NonRt)
        {
            return PreemptDisable(task);
        }

        if (task.MigrationDisabled >= MaxMigrateDepth)
        {
            Bug(task, $"migrate_disable overflow: depth {task.MigrationDisabled} (max {MaxMigrateDepth}); ignored");
            return false;
        }

        if (task.MigrationDisabled++ == 0)
        {
            _cpus[task.Cpu].NrPinned++;
            Emit(task.Cpu, task, SimEventKind.MigrateDisable);
        }

        return true;
    }

    /// <summary>
    /// migrate_enable: the outermost one unpins, queues stop work for a deferred push (MDF_PUSH) or an
    /// affinity that now excludes this CPU, and is a preemption point when a switch or move is due.
    /// </summary>
    private void MigrateEnable(SimTask task)
    {
        if (_scenario.Model == PreemptionModel.NonRt)
        {
            PreemptEnable(task, "migrate_enable (as preempt_enable)");
            return;
        }

        if (task.MigrationDisabled == 0)
        {
            Bug(task, "migrate_enable underflow: not migrate-disabled; ignored");
            return;
        }

        if (--task.MigrationDisabled > 0)
        {
            return;
        }

        SimCpu cpu = _cpus[task.Cpu];
        cpu.NrPinned--;
        Emit(cpu.Id, task, SimEventKind.MigrateEnable);
        bool mustLeave = !task.Mask.Contains(cpu.Id) || !cpu.Active;
        if (BalanceRules.MigrateEnableQueuesStop(task.MdfPush, cpu.PushBusy, mustLeave))
        {
            if (task.MdfPush)
            {
                cpu.PushBusy = true;
                cpu.PushBelow = int.MaxValue; // a deferred push has no bound, as the threaded stopper's (its PushTarget is not this request's)
            }

            cpu.StopPending = true;
        }

        if (task.PreemptCount == 0 && SwitchDue(task))
        {
            PreemptionPoint(task);
        }
    }
}
