using RtRuntime.Scheduling;
using RtRuntime.Tasks;

namespace RtRuntime.Cpus;

/// <summary>
/// The CPU thread: pick the highest-priority runnable task, run its steps until it leaves the CPU
/// (completes, blocks, yields or is preempted at a preemption point), repeat; park when idle.
/// One turn is its own method so it tiers up normally (a never-returning loop runs as OSR code,
/// where thread-static access is several times slower).
/// </summary>
internal sealed partial class Cpu
{
    private volatile bool _exit;

    /// <summary>Asks the thread to leave its loop once it is idle.</summary>
    public void RequestExit()
    {
        _exit = true;
        Parker.Unpark();
    }

    /// <summary>The thread body. <paramref name="setup"/> pins the thread and reports to Start.</summary>
    public void ThreadMain(Func<Cpu, bool> setup)
    {
        t_current = this;
        if (!setup(this))
        {
            OsThreadId = 0;
            return;
        }

        while (Turn())
        {
        }

        ExitHotplug();
        t_current = null;

        // The tid dies with the thread and Linux hands it to a later thread, maybe one of this process:
        // kept, CpuThreadTime (clock_gettime of the tid's CPU clock) would read that thread's time after the
        // stop instead of null. Cleared by the thread itself, so before its Join returns.
        OsThreadId = 0;
    }

    /// <summary>One dispatcher turn; false when the thread should exit. Never inlined into the
    /// never-returning loop, which would make it OSR code (perf showed ThreadMain at OptimizedTier1OSR).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private bool Turn()
    {
        // One clock read per turn (24 ns on a KVM guest): it serves the timers, the busy-time
        // accounting of the previous turn, and the RR slice of the next task. A turn right after an
        // idle period reuses the time its wakeup was read at (the handoff's critical path).
        long now = _idleEndNs != 0 ? _idleEndNs : RtClock.NowNs();
        _idleEndNs = 0;
        if (Volatile.Read(ref _idleReads.NextDeadline) <= now)
        {
            FireTimers(now);
        }

        DrainWakeList(picking: true); // no task runs here: the pick below sees what the drain queued
        HotplugTurn();
        _pullFailed = Scheduler.Balancer.PullIfBetter(this);

        RtTask? next;
        using (Lock.EnterScope())
        {
            const int Consumed = PendingWork.NeedResched | PendingWork.Timer | PendingWork.Probe;
            if ((Pending & Consumed) != 0)
            {
                Interlocked.And(ref _pending.Value, ~Consumed); // a locked instruction only when there is something to clear
            }

            next = PickLocked();
        }

        if (next is null)
        {
            _prev = null; // the CPU goes idle: the next task it runs is switched in from the idle task
            if (_preemptedAtSwitch == ContextSwitches)
            {
                // The task preempted last left for good (its preempters and it moved away before the
                // pick): the idle task runs next, prev != next, so that preemption stands (SwitchIn).
                _preemptedAtSwitch = -1;
                Preemptions++;
            }

            if (_busySinceNs != 0)
            {
                AccountTime(ref _busyNs, ref _busySinceNs, since: 0, now); // the tasks ran until this turn began
            }

            if (_exit)
            {
                return false;
            }

            IdleWait(now);
            return true;
        }

        if (_busySinceNs == 0)
        {
            // Busy from this turn until one finds nothing to run: a stream of running turns opens and
            // closes no period (the seqcount's stores stay off the steady dispatch path).
            AccountTime(ref _busyNs, ref _busySinceNs, since: now, now);
        }

        RunTask(next, now);
        return true;
    }

    // When the last idle period ended (read as it woke), for the next turn; 0 when that turn has it.
    private long _idleEndNs;

    // The kernel's prev: the task that last ran here and has not ended since, until the CPU goes idle.
    // Picking it again is no context switch (__schedule counts only prev != next), so a yield with
    // nothing else runnable counts none. A task that ended is forgotten first: its object may be reused.
    private RtTask? _prev;

    // ContextSwitches when _prev was last switched out at a preemption, else -1 (or a stale, smaller
    // count): that preemption is taken back if _prev is picked again before any other switch-in.
    // Keyed to the switch count so that the switch path itself stores nothing more. The CPU's own
    // Preemptions is counted only once it stands (another task or the idle task picked next): read by
    // the rtruntime.cpu.preemptions ObservableCounter, it must never go down, and a collection between
    // the switch-out and a take-back would have read one preemption that later vanished.
    private long _preemptedAtSwitch = -1;

    // The preempted task's migration count at that switch-out: a task pulled or pushed away meanwhile
    // (and back here before this CPU switched anything in) was switched out for real, as in the kernel,
    // where a task is pullable only once its CPU switched to another: that preemption stays counted.
    private long _preemptedMigrations;

    /// <summary>
    /// How long an idle CPU polls instead of parking while another CPU's running task has a push
    /// requested (a pile-up repair in flight): the task moves at its next preemption point, usually
    /// to an idle CPU, and waking a parked CPU thread costs far more than that on a virtual machine
    /// (a halted vCPU). The guest kernel's haltpoll polls before halting for the same reason.
    /// </summary>
    private const long PushPollNs = 100_000;

    /// <summary>The longest a dying CPU parks between vacated checks (a safety net: what vacates it wakes it).</summary>
    private const long DyingRecheckNs = 1_000_000;

    /// <summary>
    /// The longest an idle CPU parks after a pull that found queued work elsewhere and could take none of
    /// it (its affinity excludes this CPU, it is migrate-disabled): the offer is looked at again this
    /// often instead of on every turn, which spun the idle CPU's core while the work stayed put. Work
    /// that may run here still arrives at once, by placement, a push or the rebalancer.
    /// </summary>
    private const long PullRecheckNs = 1_000_000;

    // This turn's pull found an offer above this CPU's queue and took nothing (see PullRecheckNs).
    private bool _pullFailed;

    // The adaptive idle poll window (haltpoll's poll_limit_ns); only this CPU's thread uses it.
    private long _pollNs;

    /// <summary>The learnt early wake before a timer (<see cref="TimerEarlyWake"/>); written by this CPU's thread only.</summary>
    internal long TimerEarlyNs;

    private void IdleWait(long now)
    {
        FlushFreeTasks();
        Volatile.Write(ref _pri.Idle, 1);
        Interlocked.MemoryBarrier();
        bool work;
        using (Lock.EnterScope())
        {
            work = Rq.Count > 0 || _pri.WakeList is not null || !_cpuWork.IsEmpty;
        }

        // A dying CPU with nothing queued waits for its pinned tasks to leave: they unpin on this
        // thread (it is awake then) or wake through the wake list (it is unparked); a pin dropped
        // from another thread unparks it too. It parks like an idle CPU, and re-checks at least every
        // DyingRecheckNs as a safety net (it used to spin through its turns the whole wait).
        long dyingDeadline = Dying ? now + DyingRecheckNs : long.MaxValue;

        // An offer this turn's pull could not take does not keep the CPU awake: it parks, and looks again
        // after PullRecheckNs. (So does an offer it could take that appeared after that pull, unless a
        // push or a placement brings it here first: a delay of at most PullRecheckNs.)
        long pullRecheck = long.MaxValue;
        bool park = !work && !_exit && Volatile.Read(ref _idleReads.NextDeadline) > now;
        if (park && Scheduler.Balancer.HasPullable(this))
        {
            if (_pullFailed)
            {
                pullRecheck = now + PullRecheckNs;
            }
            else
            {
                park = false;
            }
        }

        if (park)
        {
            long fixedSpin = Scheduler.SpinBeforeParkNs;
            long spin = fixedSpin > 0 ? fixedSpin : _pollNs;
            if (spin < PushPollNs && Scheduler.IdlePollMaxNs > 0 && Scheduler.Balancer.PushInFlight(this))
            {
                spin = PushPollNs; // a running task is being pushed and may come here: be awake for it
            }

            long busyDeadline = Scheduler.HrTimer.Duty.Take(this);
            long timer = Math.Min(Volatile.Read(ref _idleReads.NextDeadline), busyDeadline);
            long until = Math.Min(timer, Math.Min(dyingDeadline, pullRecheck));
            long early = fixedSpin > 0 ? fixedSpin : until == timer ? TimerEarlyNs : 0; // a recheck needs no precision
            AccountTime(ref _idleNs, ref _idleSinceNs, since: now, now);
            Parker.Park(until, spin, earlyNs: early);
            if (fixedSpin == 0 && until == timer && Parker.SleepLateNs >= 0)
            {
                Volatile.Write(ref TimerEarlyNs, TimerEarlyWake.Adjust(TimerEarlyNs, Parker.SleepLateNs, Scheduler.TimerEarlyWakeMaxNs));
            }
            long woke = RtClock.NowNs();
            AccountTime(ref _idleNs, ref _idleSinceNs, since: 0, woke);
            if (busyDeadline <= woke)
            {
                FireBusyCpusTimers(woke);
            }

            long idled = woke - now;
            _idleEndNs = woke;
            if (fixedSpin == 0)
            {
                _pollNs = HaltPoll.Adjust(_pollNs, idled, Scheduler.IdlePollMaxNs);
            }
        }

        Volatile.Write(ref _pri.Idle, 0);
        Scheduler.HrTimer.Duty.EndIdle(this);
    }

    /// <summary>
    /// Runs <paramref name="first"/> and, after each yield, preemption, block or exit, the task picked in
    /// the same critical section (a direct switch: no clock read, no pull scan, one lock). Returns to
    /// the turn loop when the queue is empty, or when a pull or pending work must come first.
    /// </summary>
    private void RunTask(RtTask first, long now)
    {
        RtTask? task = first;
        while (task is not null)
        {
            task = RunUntilSwitch(task, now);
            now = 0; // direct switches do not read the clock; an RR task reads it for its slice
        }

        t_currentTask = null;
        SynchronizationContext.SetSynchronizationContext(null);
    }

    /// <summary>
    /// A step timed into the task's run time and longest step (<see cref="RtSchedulerOptions.TaskRunTime"/>),
    /// and into the step-time metric when this step is sampled.
    /// </summary>
    private bool TimedStep(RtTask task)
    {
        RtTaskRare rare = task.Rare;
        long t0 = RtClock.NowNs();
        bool done;
        try
        {
            done = task.Step();
        }
        finally
        {
            long ns = RtClock.NowNs() - t0;
            Volatile.Write(ref rare.RunTimeNs, rare.RunTimeNs + ns);
            if (ns > rare.LongestStepNs)
            {
                Volatile.Write(ref rare.LongestStepNs, ns);
            }

            if (StepSeq == _nextStepSample && SampleThisStep())
            {
                Scheduler.Record(Scheduler.Metrics.StepTime, ns / 1000.0);
            }
        }

        return done;
    }

    /// <summary>Runs one task until it leaves the CPU; returns the next task when it switched directly.</summary>
    private RtTask? RunUntilSwitch(RtTask task, long now)
    {
        if (task.CancelFlag != 0 && !task.IsStarted)
        {
            using (Lock.EnterScope())
            {
                if (PushTarget == task)
                {
                    PushTarget = null; // the push request lapses with its task (else it would read as a push in flight)
                }

                Running = null;
                CpuPri.Set(ref _pri.RunningPrio, -1);
            }

            Scheduler.CancelUnstarted(task);
            return null;
        }

        SwitchIn(task, now);
        RtTask? next = null;
        try
        {
            while (true)
            {
                if (task.CancelFlag != 0 && Scheduler.Reaping && task.IsStarted)
                {
                    Scheduler.Reap(task); // the stop's grace has passed and it went on: end it here, not resumed
                    _prev = null;
                    return next = PickAfterLeave(task);
                }

                bool done;
                InStep = 1;
                try
                {
                    if (Scheduler.TaskRunTime)
                    {
                        done = TimedStep(task);
                    }
                    else if (StepSeq == _nextStepSample && SampleThisStep())
                    {
                        long t0 = RtClock.NowNs();
                        done = task.Step();
                        Scheduler.Record(Scheduler.Metrics.StepTime, (RtClock.NowNs() - t0) / 1000.0);
                    }
                    else
                    {
                        done = task.Step();
                    }

                    StepSeq++;
                }
                catch (Exception e)
                {
                    // A posted callback (not an async state machine) threw: fault the task, keep the CPU.
                    _prev = null;
                    Scheduler.FaultFromStep(task, e);
                    return null;
                }
                finally
                {
                    InStep = 0;
                    ForgetPreparedBlock();
                }

                if (task.RareOrNull is { } rare)
                {
                    if (rare.FlowMisuse is { } misuse)
                    {
                        _prev = null;
                        Scheduler.FaultFromStep(task, misuse); // two flows suspended at once, or a stale sleep or wait awaiter (RtTask.NoteFlowMisuse)
                        return null;
                    }

                    if (!done && Volatile.Read(ref rare.SchedRequest) != 0)
                    {
                        Scheduler.ApplySchedRequestOfRunning(this, task); // set from another thread (RtScheduler.SetPriority)
                    }
                }

                if (done)
                {
                    _prev = null;
                    Scheduler.Finish(task);
                    if (task.TryRetire())
                    {
                        FreeTask(task); // pushed to the cache only once this thread is done with it
                    }

                    return next = PickAfterLeave(task);
                }

                if (task.ContinuationReady && task.Reason == SuspendReason.PreemptionPoint)
                {
                    if (ContinueAfterPreemptionPoint(task, out bool pullFirst))
                    {
                        continue;
                    }

                    // Preempted: it stays queued here at its priority, and the kernel pulls nothing then
                    // (need_pull_rt_task). Moved away by the stopper, or a pinned task's preempters pushed
                    // away (the CPU falls back to its priority): the turn loop pulls first, as the
                    // kernel's schedule() after the stopper does.
                    return next = pullFirst ? null : PickDirect();
                }

                if (task.ContinuationReady && task.Reason == SuspendReason.Yield)
                {
                    return next = YieldAndPick(task);
                }

                if (LeaveBlocked(task))
                {
                    return next = PickAfterLeave(task);
                }
            }
        }
        finally
        {
            if (_sliceDeadline != long.MaxValue)
            {
                Volatile.Write(ref _sliceDeadline, long.MaxValue);
            }

            // Only this thread sets Running to a task, so the unlocked read is exact. After a direct
            // switch Running is already the next task (possibly this same task again).
            if (next is null && Running == task)
            {
                using (Lock.EnterScope())
                {
                    if (PushTarget == task)
                    {
                        PushTarget = null; // the push request lapses with its task
                    }

                    Running = null;
                    LastRunPrio = task.Prio;
                    CpuPri.Set(ref _pri.RunningPrio, -1);
                }
            }
        }
    }

    /// <summary>Context switch in: TIF flags, counters, the task's SynchronizationContext, its RR slice.</summary>
    private void SwitchIn(RtTask task, long now)
    {
        if (Scheduler.CancellingAll)
        {
            Scheduler.RequestCancel(task); // the stop cancels every task, those its snapshot missed too
        }

        Scheduler.OnSwitchIn(this, task);
        // One CAS: keep the cancel and strict bits, drop off-CPU and stale TIF bits, copy the CPU's
        // pending work (Running is already this task, so a concurrent SetPending lands in one word or the other).
        int gate;
        do
        {
            gate = Volatile.Read(ref task.Gate);
        }
        while (Interlocked.CompareExchange(ref task.Gate, (gate & (RtTask.GateCancel | RtTask.GateStrict)) | Pending, gate) != gate);

        // Read Pending again after that exchange (a full fence, so after the store of Running): a
        // lock-free SetPending ORs Pending and then reads Running, so a setter whose read of Running
        // missed this task set its bits before this read. Without it, the Pending read inside the
        // exchange could pass the store of Running, both sides would miss each other, and the request
        // would reach neither the gate nor the task's points.
        int late = Pending & ~Volatile.Read(ref task.Gate);
        if (late != 0)
        {
            Interlocked.Or(ref task.Gate, late);
        }
        if (task != _prev || task.SwitchCount == 0) // 0: a new life of a reused task object (it ran and ended elsewhere meanwhile)
        {
            if (_preemptedAtSwitch == ContextSwitches)
            {
                Preemptions++; // the task preempted last here is not the one picked: prev != next, the preemption stands
            }

            task.SwitchCount++;
            ContextSwitches++;
            _prev = task;
        }
        else
        {
            // Picked again (prev == next): no switch. Its timer-anticipation point gap and clock-read
            // countdown were keyed to the switch count; they restart here as at a switch.
            _pointSwitches = -1;
            _skipSwitches = -1;
            if (_preemptedAtSwitch == ContextSwitches && task.MigrationCount != _preemptedMigrations)
            {
                // It was pulled or pushed away and came back before this CPU picked anything: switched
                // out for real (a task is movable only once its CPU switched away), so the preemption stands.
                _preemptedAtSwitch = -1;
                Preemptions++;
            }
            else if (_preemptedAtSwitch == ContextSwitches)
            {
                // It left at a preemption and nothing ran here since (its preempters were pushed or
                // pulled away before the pick): __schedule counts nivcsw only when prev != next, so
                // that preemption was none. Neither count was ever raised for it: the CPU's waits for
                // the next pick here, and so does the task's (PickLocked took it back).
                _preemptedAtSwitch = -1;
                if (task.RareOrNull is { } pinned)
                {
                    pinned.InterferedSinceNs = 0; // nor did it wait under a higher priority: no interference to record
                }
            }
        }

        // After the preemption taken back above (a pinned task picked again at once records no interference).
        if (task.WokenAtNs != 0 || (task.RareOrNull is { } rare && rare.InterferedSinceNs != 0) || Diagnostics.RtEventSource.Log.IsVerbose)
        {
            Scheduler.TraceSwitchIn(this, task);
        }

        t_currentTask = task;
        SynchronizationContext.SetSynchronizationContext(task.Pooled ? Scheduler.RunAsyncContext : task); // a pooled task's object is never a context (RunAsyncContext)
        if (task.Policy == SchedPolicy.RoundRobin)
        {
            // The rest of its own slice (p->rt.time_slice), not a new one: a task switched in afresh
            // after each preemption would never use a slice up while a higher task preempts it more
            // often, and its peers at its priority would wait for its end.
            long slice = Scheduler.RoundRobinSliceNs;
            if (task.RareOrNull is { RoundRobinSliceLeftNs: > 0 } kept)
            {
                slice = Math.Min(kept.RoundRobinSliceLeftNs, slice);
                kept.RoundRobinSliceLeftNs = 0;
            }

            Volatile.Write(ref _sliceDeadline, (now == 0 ? RtClock.NowNs() : now) + slice);
        }

        NotifyTimerThread();
    }

    /// <summary>
    /// A round-robin task is about to leave this CPU (preempted, yielding, blocking or moved): it keeps
    /// what is left of its slice for its next switch-in (the kernel's <c>p->rt.time_slice</c> is the
    /// task's, used up by its run time only). On this CPU's thread, before the task can be seen by
    /// another CPU, and not under the run-queue lock (the task's rare state may be made here). A slice
    /// already over keeps 1 ns: it rotates at its first point there, as the tick would have rotated it.
    /// </summary>
    private void SaveRoundRobinSlice(RtTask task, long now)
    {
        long deadline = _sliceDeadline;
        if (task.Policy == SchedPolicy.RoundRobin && deadline != long.MaxValue)
        {
            task.Rare.RoundRobinSliceLeftNs = Math.Max(deadline - now, 1);
        }
    }

    /// <summary>
    /// The running <paramref name="task"/>'s policy changed into or out of round-robin (this CPU's thread,
    /// the only writer of the slice's end): a full slice from now, or none (the timer thread stops watching a slice's end).
    /// </summary>
    internal void RestartRoundRobinSlice(RtTask task)
    {
        Volatile.Write(ref _sliceDeadline, task.Policy == SchedPolicy.RoundRobin ? RtClock.NowNs() + Scheduler.RoundRobinSliceNs : long.MaxValue);
        NotifyTimerThread();
    }

    /// <summary>
    /// Tells <c>rt/timer</c> this CPU is busy with its current deadlines (from this CPU's thread, the
    /// only one that clears TimerSoon, so the bit read here says whether the CPU polls). A timer the
    /// CPU should already poll (<see cref="PollsTimerAtSwitchIn"/>: a deadline within the lead, such as
    /// a sleep shorter than the lead armed while the CPU was busy) starts the polling here. Left to
    /// <c>rt/timer</c>, it waited for that thread's OS wakeup (an idle core's timed wakeups: 49–52 µs
    /// late at p50 and 270–760 µs at p99 in this VM kind's bad phases, perf/probes/tickgaps.c), and a
    /// deadline nearer than that passed with no point reading the clock: with deadlines every 150 µs,
    /// p99 0.3–4.5 ms before this and 30–850 µs after (<c>perf/probes/RtProbe.cs -- timerrow 150</c>,
    /// docs/benchmarks.md).
    /// </summary>
    private void NotifyTimerThread()
    {
        if ((Pending & PendingWork.TimerSoon) == 0 && PollsTimerAtSwitchIn())
        {
            SetPending(PendingWork.TimerSoon);
        }

        Scheduler.HrTimer.NotifyBusy(this, (Pending & PendingWork.TimerSoon) != 0);
    }

    /// <summary>
    /// At a yield or a direct switch that polled the timers: when nothing is near any more, stop polling,
    /// as a point's slow path does (a CPU that only yields or hands off would otherwise read the clock at
    /// every switch from then on), and have the timer thread arm the next deadline's lead. The task
    /// switched out may keep a stale copy of the bit in its gate: its next point clears it.
    /// </summary>
    private void StopPollingIfNothingNear(long now)
    {
        if (!PollsTimer(now))
        {
            Interlocked.And(ref _pending.Value, ~PendingWork.TimerSoon);
            NotifyTimerThread();
        }
    }

    /// <summary>sched_yield: the task goes to the tail of its priority and the highest task runs next, in one critical section.</summary>
    private RtTask? YieldAndPick(RtTask task)
    {
        if (task.Policy == SchedPolicy.RoundRobin)
        {
            SaveRoundRobinSlice(task, RtClock.NowNs()); // yield_task_rt requeues it; its slice goes on
        }

        DrainWakeList();
        int pending = Pending;
        if ((pending & PendingWork.Timer) != 0)
        {
            // Consumed here as at a point's slow path (else every later yield would take the lock to
            // fire nothing), and the timer thread re-armed for the next deadline.
            Interlocked.And(ref _pending.Value, ~PendingWork.Timer);
            FireTimers(RtClock.NowNs());
            NotifyTimerThread();
        }
        else if ((pending & PendingWork.TimerSoon) != 0)
        {
            long now = RtClock.NowNs(); // polling: a yield is a point of sorts, and rt/timer comes only at the backstop
            if (Volatile.Read(ref _idleReads.NextDeadline) <= now)
            {
                FireTimers(now);
            }

            StopPollingIfNothingNear(now);
        }

        if (task.MigrationDisabled == 0 && !task.AffinityMask.Contains(Id) && MustLeaveForMask(task))
        {
            // Its affinity changed while it ran: a yield is where it leaves (a task that only yields
            // never reaches the preemption point that would run the stopper). The turn loop picks next,
            // after a pull: this CPU's priority dropped with nothing of the task's left queued here.
            LeaveForMask(task);
            return null;
        }

        using (Lock.EnterScope())
        {
            SwitchOutLocked(task, atHead: false, preempted: false, rare: null);
            return Active ? PickLocked() : null; // a dying CPU picks through Turn (balance_push first)
        }
    }

    /// <summary>
    /// After the running task ended or blocked: picks the next task in the same critical section when
    /// the turn loop would pick it anyway: nothing pending (timers, stop work, hotplug, work queued to
    /// run on this CPU's thread; a timer that is only near is polled here, and by the next task's points), the CPU active, and no other CPU queueing a task above this queue's
    /// head, so no pull could run first (the kernel pulls only then: <c>need_pull_rt_task</c>). Else
    /// null, and the turn loop runs. A CPU working through a queue of short tasks, or tasks handing
    /// work to each other through events, thus skips the clock read, the pull scan and a second lock
    /// per switch.
    /// </summary>
    private RtTask? PickAfterLeave(RtTask task)
    {
        int top = Volatile.Read(ref _pri.QueuedTop);
        int pending = Pending;
        if ((pending & ~(PendingWork.NeedResched | PendingWork.TimerSoon)) != 0 || top < 0 || !Active || _cpuWorkQueued || Scheduler.Balancer.HasHigherQueued(this, top))
        {
            return null;
        }

        if ((pending & PendingWork.TimerSoon) != 0)
        {
            long now = RtClock.NowNs();
            if (Volatile.Read(ref _idleReads.NextDeadline) <= now)
            {
                return null; // a polled sleeper is due: the turn loop fires it (rt/timer comes only at the backstop)
            }

            StopPollingIfNothingNear(now);
        }

        using (Lock.EnterScope())
        {
            if (Rq.HighestPriority < top || !Active)
            {
                return null; // a pull took the head, or the CPU began to die (it picks through the turn loop's balance_push)
            }

            if (PushTarget == task)
            {
                PushTarget = null; // the push request lapses with its task
            }

            LastRunPrio = task.Prio;
            return PickLocked();
        }
    }

    /// <summary>Picks the next task after a preemption (the preempted task is already queued).</summary>
    private RtTask? PickDirect()
    {
        DrainWakeList();
        using (Lock.EnterScope())
        {
            return Active ? PickLocked() : null; // a dying CPU picks through Turn (balance_push first)
        }
    }

    /// <summary>pick_next_task with <see cref="Lock"/> held: the highest queued task becomes rq->curr.</summary>
    private RtTask? PickLocked()
    {
        if ((Pending & PendingWork.NeedResched) != 0)
        {
            Interlocked.And(ref _pending.Value, ~PendingWork.NeedResched);
        }

        RtTask? next = Rq.PopHighest();
        PublishQueued();
        if (_raisedBehind is not null)
        {
            _raisedBehind = null; // the next task comes from the head of its list (a store only when set: picks are the hot path)
        }

        if (_preemptedUncounted is { } preempted)
        {
            if (next == preempted)
            {
                _preemptedUncounted = null; // picked again at once: prev == next, no preemption to count
            }
            else
            {
                CountPreemptionLocked(preempted); // another task (or none) runs here: it stands
            }
        }

        if (next is not null)
        {
            Running = next; // SwitchIn's gate exchange orders this store before its last read of Pending
            CpuPri.Set(ref _pri.RunningPrio, next.Prio);
            next.Run = TaskRunState.Running;
        }

        return next;
    }

    /// <summary>
    /// The slow path of a preemption point: handle pending work, then either keep running the task
    /// (true) or switch it out (false).
    /// </summary>
    private bool ContinueAfterPreemptionPoint(RtTask task, out bool pullFirst)
    {
        pullFirst = false;
        if (_spinToNs != 0)
        {
            SpinToAnticipatedTimer(task); // the last point before a sleeper's deadline: wait for it here
        }

        _skipPoints = 0; // timers may fire or change here: the next near-timer point reads the clock

        // Clear the hint first, then read the truth: a setter writes the CPU word first and the gate
        // second, so anything set after this read shows up in the gate again.
        Interlocked.And(ref task.Gate, ~(PendingWork.NeedResched | PendingWork.Timer | PendingWork.Stop | PendingWork.Probe | PendingWork.WakeList));
        int pending = Interlocked.And(ref _pending.Value, ~(PendingWork.Timer | PendingWork.Probe));
        if (task.RareOrNull is { } requested && Volatile.Read(ref requested.SchedRequest) != 0)
        {
            // A request from another thread written after the step end's look (whose stopper bit was
            // just taken above: the setter writes the request before the bit, so it shows here), e.g.
            // an RtMutex waiter's boost: applied before the switch decision, which then sees it.
            Scheduler.ApplySchedRequestOfRunning(this, task);
        }
        if ((pending & PendingWork.WakeList) != 0)
        {
            DrainWakeList(); // before the preempt-disabled test: listed tasks become visible to pulls
        }

        long now = RtClock.NowNs();
        if ((pending & PendingWork.Timer) != 0 || Volatile.Read(ref _idleReads.NextDeadline) <= now)
        {
            FireTimers(now);
        }

        bool rearm = (pending & PendingWork.Timer) != 0;
        if (((pending | Volatile.Read(ref task.Gate)) & PendingWork.TimerSoon) != 0)
        {
            if (PollsTimer(now))
            {
                // Still near (or the task's points are sparse): keep polling. A clear racing with the
                // timer thread's set can leave the bit in the gate only; put it back on the CPU, or
                // every point would come here.
                if ((Pending & PendingWork.TimerSoon) == 0)
                {
                    SetPending(PendingWork.TimerSoon);
                }
            }
            else
            {
                // The near deadline fired (here or by another CPU): stop polling; the CPU word first,
                // then the gate, so that a TimerSoon set again meanwhile is seen in the gate at the next point.
                Interlocked.And(ref _pending.Value, ~PendingWork.TimerSoon);
                Interlocked.And(ref task.Gate, ~PendingWork.TimerSoon);
                if ((Pending & PendingWork.TimerSoon) != 0)
                {
                    Interlocked.Or(ref task.Gate, PendingWork.TimerSoon);
                }

                rearm = true; // the timer thread arms the next deadline's lead
            }
        }

        if (rearm)
        {
            NotifyTimerThread(); // re-arm the busy-CPU timer for the next deadline or slice
        }

        if (task.PreemptCount != 0)
        {
            // Preempt-disabled: here for the interrupt work above. A switch or stopper request stays
            // pending on the CPU: put it back in the gate, so that the first point after the section
            // ends acts on it.
            int held = Pending & (PendingWork.NeedResched | PendingWork.Stop);
            if (held != 0)
            {
                Interlocked.Or(ref task.Gate, held);
            }

            return true;
        }

        // A cancelled task goes on like any other (its next point throws, whatever it finds pending:
        // RtTask.CancelDeferred): one that catches the cancellation and loops must still yield to
        // higher tasks and leave a dying CPU (its points alternate: work here, the throw at the next).

        if ((pending & PendingWork.Stop) != 0)
        {
            if (task.Policy == SchedPolicy.RoundRobin)
            {
                SaveRoundRobinSlice(task, now); // the stopper may move it: it keeps the rest of its slice there
            }

            if (Scheduler.Balancer.RunStopWork(this, task))
            {
                _prev = null; // the stopper ran here: a task picked next (even this one, sent back) is switched in from it
                pullFirst = true; // the stopper moved the task to another CPU
                return false;
            }
        }

        RtTaskRare? rare = task.MigrationDisabled > 0 ? task.Rare : null; // made here, never under the run-queue lock
        RtTaskRare? roundRobin = task.Policy == SchedPolicy.RoundRobin ? task.Rare : null; // likewise
        using (Lock.EnterScope())
        {
            Interlocked.And(ref _pending.Value, ~PendingWork.NeedResched);

            // Raised while it ran to a priority tasks were queued at: it is behind them in its list, and
            // the reschedule pending since one of them was to preempt it runs the head of that list. One
            // whose task ahead left the queue (pulled away, requeued at another priority) keeps its place
            // at the head of the level.
            RtTask? ahead = _raisedBehind;
            bool behind = ahead is not null && ahead.Prio == task.Prio && ahead.Cpu == this && ahead.Run == TaskRunState.Queued && Rq.Contains(ahead);
            bool preempt = behind || BalanceRules.ShouldPreempt(Rq.HighestPriority, task.Prio);
            bool sliceOver = task.Policy == SchedPolicy.RoundRobin && now >= _sliceDeadline;
            if (sliceOver)
            {
                Volatile.Write(ref _sliceDeadline, now + Scheduler.RoundRobinSliceNs);
            }

            bool rotate = BalanceRules.ShouldRotateRoundRobin(task.Policy, sliceOver, Rq.HasPriority(task.Prio));
            if (!preempt && !rotate)
            {
                return true;
            }

            if (roundRobin is not null)
            {
                // It keeps the rest of its slice (a new one when it rotates: the deadline was just renewed).
                roundRobin.RoundRobinSliceLeftNs = Math.Max(_sliceDeadline - now, 1);
            }

            SwitchOutLocked(task, atHead: preempt && !rotate, preempted: true, rare, behind: behind && !rotate ? ahead : null);
        }

        KickIfIdle();
        pullFirst = Scheduler.Balancer.AfterPreempt(this, task); // a pinned task's preempters pushed away
        return false;
    }

    // rare: the task's rare state when it is migrate-disabled, made before the lock was taken (no allocation under it).
    // behind: the task it goes right behind (raised behind it while running: _raisedBehind), or null.
    private void SwitchOutLocked(RtTask task, bool atHead, bool preempted, RtTaskRare? rare, RtTask? behind = null)
    {
        if (preempted)
        {
            _preemptedUncounted = task; // counted on the task by the next pick, or its leaving this queue first (PickLocked, DequeueLocked)
            _preemptedAtSwitch = ContextSwitches; // taken back if the next pick here is this task again, else counted on the CPU then (SwitchIn)
            _preemptedMigrations = task.MigrationCount; // unless it left this CPU's queue meanwhile
            if (rare is not null)
            {
                rare.InterferedSinceNs = RtClock.NowNs(); // a pinned task waits under a higher priority: interference
            }
        }

        LeaveRunningLocked(task);
        EnqueueLocked(task, atHead, fromSwitch: true, behind);
    }

    /// <summary>The running task leaves this CPU (to this queue or another CPU's); lock held.</summary>
    public void LeaveRunningLocked(RtTask task)
    {
        if (PushTarget == task)
        {
            PushTarget = null; // a push request names its task; it lapses when the task leaves
        }

        Interlocked.Or(ref task.Gate, RtTask.GateOffCpu); // before anyone else can pick it up
        Running = null;
        LastRunPrio = task.Prio;
        CpuPri.Set(ref _pri.RunningPrio, -1);
        task.Run = TaskRunState.Queued;
    }

    /// <summary>
    /// The task has nothing ready: it blocks (runtime wait or foreign await). Returns false when a
    /// wakeup raced with the step and the task keeps the CPU.
    /// </summary>
    private bool LeaveBlocked(RtTask task)
    {
        if (task.Policy == SchedPolicy.RoundRobin)
        {
            SaveRoundRobinSlice(task, RtClock.NowNs()); // before a waker can run it elsewhere
        }

        if (task.Reason == SuspendReason.Foreign && task.Continuation is null && task.BlockedOn is null)
        {
            if (task.PreemptCount != 0)
            {
                Scheduler.ReportSchedulingWhileAtomic(task);
            }

            task.EnsureOffCpuWatch();
        }

        if (task.RareOrNull?.AffinityPending is not null && task.MigrationDisabled == 0 && !task.AffinityMask.Contains(Id) && MustLeaveForMask(task))
        {
            // An affinity change is pending and the task leaves the CPU migratable: move it now, as
            // migration_cpu_stop would. Its switch-in inside the new mask completes the request (it
            // may be the very request the task is awaiting), then it blocks there.
            LeaveForMask(task);
            return true;
        }

        if (!task.Registered)
        {
            Scheduler.Register(task); // blocked, it is reachable only through its waker: list it for the stop
        }

        bool migratable = task.MigrationDisabled == 0; // read while it is still this thread's
        Interlocked.Or(ref task.Gate, RtTask.GateOffCpu); // before a waker can hand it to another CPU
        Interlocked.Exchange(ref task.Run, TaskRunState.Blocked);
        if (Interlocked.Exchange(ref task.WakeWhileRunning, 0) == 1
            && Interlocked.CompareExchange(ref task.Run, TaskRunState.Running, TaskRunState.Blocked) == TaskRunState.Blocked)
        {
            if (task.MigrationDisabled == 0 && !task.AffinityMask.Contains(Id) && MustLeaveForMask(task))
            {
                // An affinity change saw it blocked and completed (its wakeup would place it inside the
                // new mask): it may not run another step here.
                LeaveForMask(task);
                return true;
            }

            Interlocked.And(ref task.Gate, ~RtTask.GateOffCpu);

            // A setter that found it blocked for that instant may have changed its priority in place under
            // this CPU's lock (TryApplySchedRequestToBlocked): the CPU's running priority follows, and a
            // queued task it now ranks below preempts it. The exchange above is a full fence, and the
            // setter fences between its write and its look at the run state: this sees the new priority,
            // or the setter sees the task running and republishes it itself.
            if (task.Prio != RunningPrio)
            {
                using (Lock.EnterScope())
                {
                    SetRunningPrioLocked(task.Prio);
                }
            }

            if (task.RareOrNull is { } pending && Volatile.Read(ref pending.SchedRequest) != 0)
            {
                // A request from another thread that saw the task blocked: it stays here running, and no
                // enqueue will apply it (the setter looks under this CPU's lock and finds it running).
                Scheduler.ApplySchedRequestOfRunning(this, task);
            }

            if (task.Policy == SchedPolicy.RoundRobin && _sliceDeadline == long.MaxValue)
            {
                RestartRoundRobinSlice(task); // made round-robin by a setter while it was blocked for an instant
            }

            return false;
        }

        if (migratable && task.RareOrNull?.AffinityPending is not null)
        {
            // A request made after the look above, which saw the task still running here (it raised
            // the stop work, which moves only the task running here): it blocked migratable, and its
            // wakeup places it inside the new mask, so the request completes now, as one that finds
            // it blocked does. Read after the exchanges (full fences); the request fences between its
            // write and its look at the run state, so one of the two sees the other.
            Scheduler.OnBlockedMigratable(this, task);
        }

        if (task.RareOrNull is { } rare && Volatile.Read(ref rare.SchedRequest) != 0)
        {
            // A priority set from another thread while the task was running, after its step ended: the
            // setter may have seen it running and left it to this CPU.
            Scheduler.TryApplySchedRequestToBlocked(task);
        }

        return true;
    }

    /// <summary>For a migratable task outside its mask here: whether it leaves (<see cref="Placement.MustLeave{TCpu}"/>: its mask holds an active CPU).</summary>
    private bool MustLeaveForMask(RtTask task) => Placement.MustLeave(task.AffinityMask, Id, Scheduler.CpuViews);

    /// <summary>migration_cpu_stop for a task leaving this CPU migratable: it goes to an active CPU of its mask.</summary>
    private void LeaveForMask(RtTask task)
    {
        using (Lock.EnterScope())
        {
            LeaveRunningLocked(task);
        }

        Scheduler.Cpus[Scheduler.SelectFallbackCpu(task, exclude: this)].Enqueue(task);
    }

    /// <summary>
    /// The step-time histogram's sample (once per sampled step): the next step to time is a random gap
    /// away, 64 on average (<see cref="Diagnostics.RtMetrics.NextGap"/>); true when a listener wants this one.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private bool SampleThisStep()
    {
        _nextStepSample = StepSeq + Diagnostics.RtMetrics.NextGap(ref _stepSampleState);
        return Scheduler.Metrics.StepTimeOn;
    }
}
