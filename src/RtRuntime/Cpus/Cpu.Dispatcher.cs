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
            return;
        }

        while (Turn())
        {
        }

        t_current = null;
    }

    /// <summary>One dispatcher turn; false when the thread should exit.</summary>
    private bool Turn()
    {
        long now = RtClock.NowNs();
        if (Volatile.Read(ref _nextDeadline) <= now)
        {
            FireTimers(now);
        }

        Scheduler.Balancer.PullIfBetter(this);

        RtTask? next;
        lock (Lock)
        {
            Interlocked.And(ref _pending.Value, ~(PendingWork.NeedResched | PendingWork.Timer));
            next = Rq.PopHighest();
            Volatile.Write(ref _queuedTop, Rq.HighestPriority);
            if (next is not null)
            {
                Running = next;
                Volatile.Write(ref _runningPrio, next.Prio);
                next.Run = TaskRunState.Running;
            }
        }

        if (next is null)
        {
            if (_exit)
            {
                return false;
            }

            IdleWait();
            return true;
        }

        long start = RtClock.NowNs();
        RunTask(next, start);
        BusyNs += RtClock.NowNs() - start;
        return true;
    }

    private void IdleWait()
    {
        Volatile.Write(ref _idle.Value, 1);
        Interlocked.MemoryBarrier();
        bool work;
        lock (Lock)
        {
            work = Rq.Count > 0;
        }

        if (!work && !_exit && Volatile.Read(ref _nextDeadline) > RtClock.NowNs() && !Scheduler.Balancer.HasPullable(this))
        {
            long start = RtClock.NowNs();
            Parker.Park(Volatile.Read(ref _nextDeadline), Scheduler.SpinBeforeParkNs);
            IdleNs += RtClock.NowNs() - start;
        }

        Volatile.Write(ref _idle.Value, 0);
    }

    /// <summary>Runs <paramref name="task"/> until it leaves this CPU.</summary>
    private void RunTask(RtTask task, long now)
    {
        if (task.CancelFlag != 0 && !task.IsStarted)
        {
            lock (Lock)
            {
                Running = null;
                Volatile.Write(ref _runningPrio, -1);
            }

            Scheduler.CancelUnstarted(task);
            return;
        }

        Scheduler.OnSwitchIn(this, task);
        Interlocked.And(ref task.Gate, ~(RtTask.GateOffCpu | PendingWork.NeedResched | PendingWork.Timer | PendingWork.Stop));
        Interlocked.Or(ref task.Gate, Pending); // TIF flags follow the CPU's pending work (see SetPending)
        task.SwitchCount++;
        ContextSwitches++;
        t_currentTask = task;
        SynchronizationContext.SetSynchronizationContext(task.SyncContext);
        Volatile.Write(ref _sliceDeadline, task.Policy == SchedPolicy.RoundRobin ? now + Scheduler.RoundRobinSliceNs : long.MaxValue);
        Scheduler.HrTimer.NotifyBusy(this);

        try
        {
            while (true)
            {
                bool done;
                try
                {
                    done = task.Step();
                }
                catch (Exception e)
                {
                    // A posted callback (not an async state machine) threw: fault the task, keep the CPU.
                    Scheduler.FaultFromStep(task, e);
                    return;
                }

                if (done)
                {
                    Scheduler.Finish(task);
                    return;
                }

                if (task.ContinuationReady && task.Reason == SuspendReason.PreemptionPoint)
                {
                    if (ContinueAfterPreemptionPoint(task))
                    {
                        continue;
                    }

                    return;
                }

                if (task.ContinuationReady && task.Reason == SuspendReason.Yield)
                {
                    SwitchOut(task, atHead: false, preempted: false);
                    return;
                }

                if (LeaveBlocked(task))
                {
                    return;
                }
            }
        }
        finally
        {
            t_currentTask = null;
            SynchronizationContext.SetSynchronizationContext(null);
            Volatile.Write(ref _sliceDeadline, long.MaxValue);
            lock (Lock)
            {
                if (Running == task)
                {
                    Running = null;
                    LastRunPrio = task.Prio;
                    Volatile.Write(ref _runningPrio, -1);
                }
            }
        }
    }

    /// <summary>
    /// The slow path of a preemption point: handle pending work, then either keep running the task
    /// (true) or switch it out (false).
    /// </summary>
    private bool ContinueAfterPreemptionPoint(RtTask task)
    {
        // Clear the hint first, then read the truth: a setter writes the CPU word first and the gate
        // second, so anything set after this read shows up in the gate again.
        Interlocked.And(ref task.Gate, ~(PendingWork.NeedResched | PendingWork.Timer | PendingWork.Stop));
        int pending = Interlocked.And(ref _pending.Value, ~PendingWork.Timer);
        long now = RtClock.NowNs();
        if ((pending & PendingWork.Timer) != 0 || Volatile.Read(ref _nextDeadline) <= now)
        {
            FireTimers(now);
        }

        if ((pending & PendingWork.Timer) != 0)
        {
            Scheduler.HrTimer.NotifyBusy(this); // re-arm the busy-CPU timer for the next deadline or slice
        }

        if (task.PreemptCount != 0 || task.CancelFlag != 0)
        {
            return true; // preempt-disabled (here only for cancellation), or about to throw cancellation
        }

        if ((pending & PendingWork.Stop) != 0 && Scheduler.Balancer.RunStopWork(this, task))
        {
            return false; // the stopper moved the task to another CPU
        }

        lock (Lock)
        {
            Interlocked.And(ref _pending.Value, ~PendingWork.NeedResched);
            bool preempt = Rq.HighestPriority > task.Prio;
            bool sliceOver = task.Policy == SchedPolicy.RoundRobin && now >= _sliceDeadline;
            if (sliceOver)
            {
                Volatile.Write(ref _sliceDeadline, now + Scheduler.RoundRobinSliceNs);
            }

            bool rotate = sliceOver && Rq.HasPriority(task.Prio);
            if (!preempt && !rotate)
            {
                return true;
            }

            SwitchOutLocked(task, atHead: preempt && !rotate, preempted: true);
        }

        KickIfIdle();
        Scheduler.Balancer.AfterPreempt(this, task);
        return false;
    }

    private void SwitchOut(RtTask task, bool atHead, bool preempted)
    {
        lock (Lock)
        {
            SwitchOutLocked(task, atHead, preempted);
        }
    }

    private void SwitchOutLocked(RtTask task, bool atHead, bool preempted)
    {
        if (preempted)
        {
            task.PreemptionCount++;
        }

        LeaveRunningLocked(task);
        EnqueueLocked(task, atHead);
    }

    /// <summary>The running task leaves this CPU (to this queue or another CPU's); lock held.</summary>
    public void LeaveRunningLocked(RtTask task)
    {
        Interlocked.Or(ref task.Gate, RtTask.GateOffCpu); // before anyone else can pick it up
        Running = null;
        LastRunPrio = task.Prio;
        Volatile.Write(ref _runningPrio, -1);
        task.Run = TaskRunState.Queued;
    }

    /// <summary>
    /// The task has nothing ready: it blocks (runtime wait or foreign await). Returns false when a
    /// wakeup raced with the step and the task keeps the CPU.
    /// </summary>
    private bool LeaveBlocked(RtTask task)
    {
        if (task.Reason == SuspendReason.Foreign && task.Continuation is null && task.BlockedOn is null)
        {
            if (task.PreemptCount != 0)
            {
                Scheduler.ReportSchedulingWhileAtomic(task);
            }

            task.EnsureOffCpuWatch();
        }

        Interlocked.Or(ref task.Gate, RtTask.GateOffCpu); // before a waker can hand it to another CPU
        Interlocked.Exchange(ref task.Run, TaskRunState.Blocked);
        if (Interlocked.Exchange(ref task.WakeWhileRunning, 0) == 1
            && Interlocked.CompareExchange(ref task.Run, TaskRunState.Running, TaskRunState.Blocked) == TaskRunState.Blocked)
        {
            Interlocked.And(ref task.Gate, ~RtTask.GateOffCpu);
            return false;
        }

        return true;
    }
}
