using RtRuntime.Interop;
using RtRuntime.Scheduling;
using RtRuntime.Tasks;

namespace RtRuntime.Cpus;

/// <summary>
/// A logical CPU: the kernel's <c>struct rq</c> plus the thread that plays the CPU. Its run queue,
/// timers and counters are guarded by <see cref="Lock"/>; the pending word is written remotely with
/// Interlocked and read by the running task without a lock. <c>Cpu.Dispatcher.cs</c> holds the
/// thread's loop.
/// </summary>
internal sealed partial class Cpu : IWaitSource, ICpuState
{
    [ThreadStatic]
    private static Cpu? t_current;

    [ThreadStatic]
    private static RtTask? t_currentTask;

    private readonly TimerQueue _timers = new();
    private readonly List<RtTask> _expired = new();
    private readonly List<RtTask> _expiredBoosts = new(); // owners whose boost a timed-out waiter dropped, told before the wakeups

    private PaddedInt _pending;

    public Cpu(RtScheduler scheduler, int id, int core)
    {
        Scheduler = scheduler;
        Id = id;
        Core = core;
        Lock = scheduler.NewSpinLock($"cpu{id}'s run-queue lock");
        Rq = new RunQueue(id);
        MetricTag = new KeyValuePair<string, object?>("cpu", id);
        _pri.RunningPrio = -1;
        _pri.QueuedTop = -1;
        _pri.PushableTop = -1;
        _idleReads.NextDeadline = long.MaxValue;
        _online.Active = 1;
        _online.Online = 1;
        Parker = new Parker(() => Volatile.Read(ref _pri.WakeList) is not null);
    }

    /// <summary>The CPU whose thread is calling, or null off the runtime.</summary>
    public static Cpu? Current => t_current;

    /// <summary>The task the calling CPU thread is running, or null.</summary>
    public static RtTask? CurrentTask => t_currentTask;

    public RtScheduler Scheduler { get; }

    /// <summary>Logical CPU id (0..N−1).</summary>
    public int Id { get; }

    /// <summary>The "cpu" tag of this CPU's measurements, boxed once (a histogram record allocates nothing).</summary>
    public KeyValuePair<string, object?> MetricTag { get; }

    /// <summary>The core the thread is pinned to, or −1 when unpinned.</summary>
    public int Core { get; }

    /// <summary>The OS thread id (Linux <c>gettid</c>) of this CPU's thread while it runs, else 0 (before it starts, and once it has ended: the OS may reuse the id).</summary>
    internal volatile int OsThreadId;

    /// <summary>
    /// The CPU time this CPU's thread has had from the OS, in ns (its per-thread CPU clock), or -1
    /// where the OS does not tell (not Linux, or the thread has not started or has ended).
    /// </summary>
    internal long ThreadCpuTimeNs()
    {
        int tid = OsThreadId;
        return tid != 0 && OperatingSystem.IsLinux() ? LinuxInterop.ThreadCpuTimeNs(tid) : -1;
    }

    /// <summary>Whether the CPU's OS thread sleeps now (blocked, not running or runnable), or null when unknown (Linux only).</summary>
    internal bool? ThreadSleeps()
    {
        int tid = OsThreadId;
        return tid != 0 && OperatingSystem.IsLinux() ? LinuxInterop.ThreadSleeps(tid) : null;
    }

    /// <summary>The run-queue lock (rq->lock). Two queues are locked in CPU-id order.</summary>
    public RawSpinLock Lock { get; }

    public RunQueue Rq { get; }

    /// <summary>The pending word (see <see cref="PendingWork"/>): read lock-free at preemption points.</summary>
    public int Pending => Volatile.Read(ref _pending.Value);

    internal ref int PendingRef => ref _pending.Value;

    /// <summary>
    /// rq->curr: the running task, or null when idle or between tasks. Written under <see cref="Lock"/>,
    /// on the line a waker has just written (<see cref="CpuPri"/>), so the running task's gate is
    /// reached without another transfer.
    /// </summary>
    public RtTask? Running
    {
        get => Volatile.Read(ref _pri.Running);
        private set => Volatile.Write(ref _pri.Running, value);
    }

    /// <summary>Scratch for this CPU's pulls (<see cref="Scheduling.PullRounds"/>: source ids, then their pushable tops); only this CPU's thread uses it.</summary>
    internal int[]? PullSources;

    /// <summary>This CPU's local locks that have waiters (the only ones that boost their owner); under <see cref="Lock"/>.</summary>
    internal List<PerCpu.LocalLockState> ContendedLocks { get; } = [];

    /// <summary>Priority of the running task (−1 idle). Read without the lock by placement (like cpupri).</summary>
    public int RunningPrio => Volatile.Read(ref _pri.RunningPrio);

    private CpuPri _pri;
    private CpuOnlineState _online;

    /// <summary>Highest queued (not running) priority, −1 when the queue is empty. Read without the lock.</summary>
    public int QueuedTop => Volatile.Read(ref _pri.QueuedTop);

    /// <summary>
    /// Highest queued priority among tasks that may move to another CPU (<see cref="RunQueue.HighestPushable"/>),
    /// −1 when none: the kernel's rt-overloaded test; pulls look only at CPUs where it is above their own queue.
    /// </summary>
    public int PushableTop => Volatile.Read(ref _pri.PushableTop);

    /// <summary>rq->push_busy: the running task a stopper push is in flight for (never two at once); null when none.</summary>
    public ref RtTask? PushTarget => ref _idleReads.PushTarget;

    /// <summary>
    /// What the in-flight push's target CPU must run below besides the runner's priority (a pile-up's
    /// repair, at a pinned task's wakeup, a pull or rt/balance's pass: the pinned task's; else <see cref="int.MaxValue"/>). Set with <see cref="PushTarget"/>, under the lock.
    /// </summary>
    public int PushBelow = int.MaxValue;

    private CpuIdleReads _idleReads;

    /// <summary>The priority the CPU thread last ran (for "dropped its priority" pulls); −1 after idling.</summary>
    public int LastRunPrio = -1;

    /// <summary>
    /// The last task queued at the running task's priority when that task was raised to it while it ran
    /// (lock held): the running task is behind it in its list, as <c>__sched_setscheduler</c> and
    /// <c>rt_mutex_setprio</c> enqueue a raised task (the running one too: an RT task stays on its list
    /// while it runs) at the tail of its new priority. Its next preemption point then switches it out
    /// behind that task, which a pending reschedule (the wakeup of a task that was to preempt it) runs
    /// first. Null when it runs at the head of its list: picked, lowered, or raised to a priority
    /// nothing waits at.
    /// </summary>
    private RtTask? _raisedBehind;

    /// <summary>
    /// The task switched out here at a preemption whose own count (<see cref="RtTask.Preemptions"/>) waits
    /// for it to stand, as this CPU's count does: the next pick here of another task, or of none,
    /// counts it; so does its leaving this queue before that pick (pulled, pushed, moved: switched out for
    /// real); a pick of it again at once takes it back, never having counted it (__schedule counts
    /// <c>nivcsw</c> only when <c>prev != next</c>). Raised before, it could be read one higher than it
    /// later stood. Set and cleared under <see cref="Lock"/>, while the task is in this queue (not
    /// running anywhere), so the count is written by no other thread then. Null when none waits.
    /// </summary>
    private RtTask? _preemptedUncounted;

    /// <summary>The priority this CPU is busy at for placement: max(running, highest queued); −1 when idle.</summary>
    public int TopPrio => Math.Max(Volatile.Read(ref _pri.RunningPrio), Volatile.Read(ref _pri.QueuedTop));

    /// <inheritdoc/>
    public bool RunningPinned => Volatile.Read(ref _pri.Running) is { } running && Volatile.Read(ref running.MigrationDisabled) > 0;

    /// <summary>rq->nr_pinned: tasks of this CPU inside a migrate-disabled section (running, preempted or asleep).</summary>
    public int NrPinned => Volatile.Read(ref _nrPinned) + Volatile.Read(ref _nrUnpinnedElsewhere);

    private int _nrPinned;

    // Pins dropped by another thread (shutdown ending a task blocked inside migrate_disable), as a
    // negative count: _nrPinned has one writer, this CPU's thread, which may be writing it right then.
    private int _nrUnpinnedElsewhere;

    /// <summary>cpu_active: accepts new placements. Read without locks by placement.</summary>
    public bool Active
    {
        get => Volatile.Read(ref _online.Active) != 0;
        set => Volatile.Write(ref _online.Active, value ? 1 : 0);
    }

    /// <summary>cpu_online.</summary>
    public bool Online
    {
        get => Volatile.Read(ref _online.Online) != 0;
        set => Volatile.Write(ref _online.Online, value ? 1 : 0);
    }

    /// <summary>The earliest sleeper deadline on this CPU (RtClock ns), or long.MaxValue.</summary>
    public long NextDeadline => Volatile.Read(ref _idleReads.NextDeadline);

    /// <summary>When the running RR task's slice ends (RtClock ns), or long.MaxValue.</summary>
    public long SliceDeadline => Volatile.Read(ref _sliceDeadline);

    private long _sliceDeadline = long.MaxValue;

    /// <summary>This CPU's earliest timer: a sleeper's deadline or the RR slice's end (RtClock ns), or long.MaxValue.</summary>
    public long EarliestTimer => Math.Min(NextDeadline, SliceDeadline);

    /// <summary>True while the CPU thread is idle (parked or about to park).</summary>
    public bool IsIdle => Volatile.Read(ref _pri.Idle) != 0;

    /// <summary>The CPU thread's parker; its idle poll also watches the wake list, so a waker need not signal a polling CPU.</summary>
    public Parker Parker { get; }

    public Thread? Thread { get; set; }

    // ---- counters (written by the CPU thread, or under Lock) ----

    /// <summary>
    /// Tasks switched in (the kernel's <c>rq->nr_switches</c>, counted for tasks only): a pick of the task
    /// that just left (<see cref="_prev"/>: a yield with nothing else runnable, a preempted or blocked
    /// task that is again the highest) is no switch, as __schedule counts only <c>prev != next</c>.
    /// </summary>
    public long ContextSwitches;
    public long Preemptions;
    public long MigrationsIn;

    // Tasks that ended here, by final state (Completed, Faulted, Cancelled): counted by this CPU's own
    // thread with plain writes (one writer; the completion's exchange that follows is the fence the
    // stop's drain check needs), and by any other thread (an abandoned task ended by the stopping
    // thread) with Interlocked, apart.
    private readonly long[] _endedHere = new long[3];
    private readonly long[] _endedByOthers = new long[3];

    /// <summary>Counts a task that ended on this CPU.</summary>
    public void CountEnded(RtTaskState state)
    {
        int slot = Slot(state);
        if (t_current == this)
        {
            Volatile.Write(ref _endedHere[slot], _endedHere[slot] + 1);
        }
        else
        {
            Interlocked.Increment(ref _endedByOthers[slot]);
        }
    }

    /// <summary>Tasks that ended on this CPU in <paramref name="state"/>.</summary>
    public long EndedCount(RtTaskState state) =>
        Volatile.Read(ref _endedHere[Slot(state)]) + Interlocked.Read(ref _endedByOthers[Slot(state)]);

    private static int Slot(RtTaskState state) => state switch
    {
        RtTaskState.Completed => 0,
        RtTaskState.Faulted => 1,
        _ => 2,
    };

    /// <summary>Incremented each time a task's step hands control back (read by stall detection).</summary>
    public long StepSeq;

    /// <summary>
    /// 1 while a task's step runs on this CPU's thread, 0 in the dispatcher's own code between steps
    /// (read by stall detection: a stall is a step's; the thread held up after a step, by the OS or by
    /// a lock, is not the task's).
    /// </summary>
    public int InStep;

    // The step-time histogram's sample: the next step timed, and the random gaps' state (this CPU's thread only).
    private long _nextStepSample;
    private uint _stepSampleState;

    // Busy and idle time: the periods ended, and the one in progress (its start, 0 when none), which
    // only this CPU's thread writes, inside a seqcount (odd while it writes) so that a reader on
    // another thread sees the four fields of one moment (the kernel's u64_stats_sync).
    private long _busyNs;
    private long _idleNs;
    private long _busySinceNs;
    private long _idleSinceNs;
    private int _timeSeq;

    // The highest figures a reader has reported: a reader's clock may pass the end of a period that
    // this thread closes a moment later at its own earlier reading, so each figure is kept monotonic.
    private long _busyReportedNs;
    private long _idleReportedNs;

    /// <summary>Time this CPU has run tasks, the busy period in progress included (any thread).</summary>
    public long BusyNs => ReadTime(busy: true);

    /// <summary>Time this CPU has idled (parked or polling before it parks), the idle period in progress included (any thread).</summary>
    public long IdleNs => ReadTime(busy: false);

    /// <summary>Opens (<paramref name="since"/> a time) or closes (0) this CPU's busy or idle period at <paramref name="now"/>; on its thread only.</summary>
    private void AccountTime(ref long total, ref long open, long since, long now)
    {
        Volatile.Write(ref _timeSeq, _timeSeq + 1);
        if (open != 0)
        {
            Volatile.Write(ref total, total + (now - open));
        }

        Volatile.Write(ref open, since);
        Volatile.Write(ref _timeSeq, _timeSeq + 1);
    }

    private long ReadTime(bool busy)
    {
        long value;
        while (true)
        {
            int seq = Volatile.Read(ref _timeSeq);
            if ((seq & 1) != 0)
            {
                Thread.SpinWait(1);
                continue;
            }

            value = busy ? Volatile.Read(ref _busyNs) : Volatile.Read(ref _idleNs);
            long since = busy ? Volatile.Read(ref _busySinceNs) : Volatile.Read(ref _idleSinceNs);
            if (since != 0)
            {
                value += Math.Max(0, RtClock.NowNs() - since);
            }

            if (Volatile.Read(ref _timeSeq) == seq)
            {
                break;
            }
        }

        ref long reported = ref busy ? ref _busyReportedNs : ref _idleReportedNs;
        long last = Volatile.Read(ref reported);
        while (value > last)
        {
            long seen = Interlocked.CompareExchange(ref reported, value, last);
            if (seen == last)
            {
                return value;
            }

            last = seen;
        }

        return last;
    }

    /// <summary>
    /// Sets bits of the pending word (from any thread), then mirrors them into the running task's gate
    /// (set_tsk_need_resched). The switch-in copies the word into the next task's gate, so a setter that
    /// races with a switch is seen by one or the other.
    /// </summary>
    public void SetPending(int bits)
    {
        Interlocked.Or(ref _pending.Value, bits);
        if (_pri.Running is { } running)
        {
            Interlocked.Or(ref running.Gate, bits);
        }
    }

    /// <summary>
    /// Puts a runnable task on this CPU's queue (the tail of its priority) and sets need_resched if it
    /// outranks the running task; wakes the CPU if it is idle. The task's run state is already Queued.
    /// Returns the CPU it was queued on: this one, or the one it was redirected to when this CPU is no
    /// longer active (or outside the task's mask) by the time its lock is taken (the stopper names it).
    /// </summary>
    public Cpu Enqueue(RtTask task, bool atHead = false)
    {
        bool redirect;
        RtTask? listedElsewhere = null;
        using (Lock.EnterScope())
        {
            if (_pri.WakeList is not null)
            {
                listedElsewhere = DrainWakeListLocked(); // tasks woken before this one queue first
            }

            redirect = MustRedirect(task);
            if (!redirect)
            {
                EnqueueLocked(task, atHead);
            }
        }

        EnqueueElsewhere(listedElsewhere);
        if (redirect)
        {
            return Scheduler.Cpus[Scheduler.SelectFallbackCpu(task, exclude: this)].Enqueue(task, atHead);
        }

        KickIfIdle();
        YieldCoreIfWakerHoldsIt(task);
        return this;
    }

    /// <summary>
    /// Placement read Active and the task's mask without this CPU's lock: re-checked under it. Only a
    /// migrate-disabled task may still come to a dying (inactive, online) CPU, or to a CPU outside its
    /// new mask (it moves at its outermost migrate_enable); nothing to an offline one.
    /// </summary>
    private bool MustRedirect(RtTask task) =>
        (!Active && (task.MigrationDisabled == 0 || !Online))
        || (task.MigrationDisabled == 0 && !task.AffinityMask.Contains(Id) && Placement.MustLeave(task.AffinityMask, Id, Scheduler.CpuViews)); // the mask changed since placement

    /// <summary>
    /// check_preempt_curr for a waker off the runtime: a foreign thread running on this CPU's core keeps
    /// the CPU thread off it (pinned there), so when the task it just queued must preempt the running
    /// one, the waker yields the core, as the kernel's woken RT task preempts its waker. Without it, the
    /// woken task waits for the OS to end the waker's time slice (milliseconds if it spins). Only for a
    /// preemption: a task queued behind an equal or higher one, or onto an idle CPU (which the futex
    /// wake already makes runnable), costs the waker nothing, so a thread spawning a burst of tasks is
    /// not slowed by a yield per spawn.
    /// </summary>
    private void YieldCoreIfWakerHoldsIt(RtTask queued)
    {
        // A waker on a CPU thread stops at the thread-static test, before reading this CPU's running
        // priority: that line lives in the target's cache, and pulling it costs a cache-line transfer
        // on every cross-CPU wakeup (far more than the thread-static read).
        if (t_current is not null || Core < 0)
        {
            return;
        }

        int running = RunningPrio;
        if (running >= 0 && queued.Prio > running && Thread.GetCurrentProcessorId() == Core)
        {
            Thread.Yield();
        }
    }

    /// <summary>
    /// Enqueue with <see cref="Lock"/> held (the caller calls <see cref="KickIfIdle"/> after unlocking).
    /// <paramref name="fromSwitch"/>: this CPU's dispatcher is switching and picks next anyway, so no need_resched.
    /// </summary>
    /// <param name="task">The task, its run state Queued.</param>
    /// <param name="atHead">At the head of its priority (a preempted task), else at the tail.</param>
    /// <param name="fromSwitch">This CPU's dispatcher is switching and picks next anyway.</param>
    /// <param name="behind">A task queued here to put it right behind when still queued at its priority
    /// (a running task raised behind it: <see cref="_raisedBehind"/>), or null.</param>
    public void EnqueueLocked(RtTask task, bool atHead, bool fromSwitch = false, RtTask? behind = null)
    {
        SetTaskCpu(task);
        if (task.RareOrNull is { } rare && Volatile.Read(ref rare.SchedRequest) != 0)
        {
            // Set from another thread (RtScheduler.SetPriority, an RtMutex's boost), also for a task
            // switched out here after its step end looked: it would otherwise wait in the queue, at its
            // old priority, until it ran again (a setter that still saw it running looks here under
            // this lock after its stopper bit: RtScheduler.ApplySchedRequestWhereHeld).
            int oldPrio = task.Prio;
            RtScheduler.ApplySchedRequestOnEnqueueLocked(this, task, rare);
            if (fromSwitch && task.Prio > oldPrio)
            {
                // Raised as it switched out (after its step end looked): __sched_setscheduler and
                // rt_mutex_setprio put a raised task at the tail of its new priority whether the raise
                // came before the switch-out (the running task requeued) or after it (the queued one),
                // so a preempted task does not go ahead of its preempter or of others waiting there.
                atHead = false;
            }
        }

        if (behind is not null && behind.Prio == task.Prio && behind.Cpu == this && behind.Run == TaskRunState.Queued && Rq.Contains(behind))
        {
            Rq.EnqueueAfter(task, behind);
        }
        else
        {
            Rq.Enqueue(task, atHead);
        }

        PublishQueued();
        if (!fromSwitch && task.Prio > _pri.RunningPrio)
        {
            SetPending(PendingWork.NeedResched);
        }
    }

    /// <summary>
    /// set_task_cpu: the task's CPU becomes this one, counting a migration when it was on another. By
    /// the enqueue under this CPU's lock, or by a waker before it lists the task here (the kernel also
    /// sets the CPU before ttwu_queue), so a task's CPU is known from its wakeup on.
    /// </summary>
    private void SetTaskCpu(RtTask task)
    {
        Cpu? previous = task.Cpu;
        if (previous == this)
        {
            return;
        }

        task.Cpu = this;
        if (previous is not null)
        {
            task.MigrationCount++;

            // A waker may count here while this CPU's thread does too. The increment is also the full
            // fence between the store of the task's CPU above and the enqueue's read of a priority
            // request after it, the pair to the setter's write of the request and read of the task's
            // CPU (RtScheduler.TryApplySchedRequestToQueued): a move that holds only this CPU's lock
            // (hotplug's push-off, an affinity change) either sees the request, or its store is seen and
            // the setter waits for this lock. Without it the read could pass the buffered store and
            // both miss, leaving the task at its old priority until its next enqueue.
            Interlocked.Increment(ref MigrationsIn);
            if (Diagnostics.RtEventSource.Log.On)
            {
                Diagnostics.RtEventSource.Log.SchedMigrateTask(task.Id, task.Prio, previous.Id, Id);
            }
        }
    }

    /// <summary>The running task's priority changed (PI boost or unboost); lock held.</summary>
    public void SetRunningPrioLocked(int prio)
    {
        int old = _pri.RunningPrio;
        if (prio != old)
        {
            // Raised: behind the tasks queued at its new priority, if any (the tail of that list);
            // lowered: at the head of its new priority, ahead of them (prio_changed_rt, __sched_setscheduler's ENQUEUE_HEAD).
            _raisedBehind = prio > old ? Rq.PeekTailOf(prio) : null;
        }

        CpuPri.Set(ref _pri.RunningPrio, prio);
        if (Rq.HighestPriority > prio || _raisedBehind is not null)
        {
            SetPending(PendingWork.NeedResched); // raised behind waiting tasks: the reschedule one of them was to cause (it ran below them), which its next point acts on
        }
    }

    /// <summary>Publishes the queue's top priorities for placement and balancing (lock held).</summary>
    private void PublishQueued()
    {
        CpuPri.Set(ref _pri.QueuedTop, Rq.HighestPriority);
        int pushable = Rq.HighestPushable;
        int was = _pri.PushableTop;
        if (pushable != was)
        {
            Volatile.Write(ref _pri.PushableTop, pushable);
            if ((was < 0) != (pushable < 0))
            {
                Scheduler.Balancer.OverloadChanged(pushable >= 0);
            }
        }
    }

    /// <summary>A queued task's affinity changed in place (lock held): recounts it pushable or not, and republishes.</summary>
    public void RequalifyPushable(RtTask task)
    {
        Rq.RequalifyPushable(task);
        PublishQueued();
    }

    /// <summary>Removes a queued task with <see cref="Lock"/> held.</summary>
    public void DequeueLocked(RtTask task)
    {
        Rq.Remove(task);
        PublishQueued();
        if (task == _preemptedUncounted)
        {
            CountPreemptionLocked(task); // it leaves this queue before the pick: switched out for real
        }
    }

    /// <summary>The preemption <see cref="_preemptedUncounted"/> waited on stands: counted on its task (lock held).</summary>
    private void CountPreemptionLocked(RtTask task)
    {
        _preemptedUncounted = null;
        Volatile.Write(ref task.PreemptionCount, task.PreemptionCount + 1);
    }

    /// <summary>
    /// Puts a queued task back at its new priority (lock held): the kernel's DEQUEUE_SAVE/ENQUEUE_RESTORE
    /// pair around a priority change (<c>rt_mutex_setprio</c>, <c>__sched_setscheduler</c>). Unlike
    /// <see cref="EnqueueLocked"/>, it leaves a request pending for the task to its writer, who applies it
    /// after writing it (<see cref="RtScheduler.ApplySchedRequestWhereHeld"/>): the change under way may
    /// hold a wait queue's gate (an RtMutex's: the PI lock), which that application takes for a task
    /// queued with its wait not yet over (an RtMutex's pending or robbed owner, a woken semaphore waiter),
    /// and the gate is not reentrant (the re-entry froze the runtime).
    /// </summary>
    public void RequeueLocked(RtTask task, int prio, bool atHead)
    {
        Rq.Remove(task);
        task.PrioVolatile = prio;
        Rq.Enqueue(task, atHead);
        PublishQueued();
        if (task.Prio > _pri.RunningPrio)
        {
            SetPending(PendingWork.NeedResched);
        }
    }

    /// <summary>Unparks the CPU thread if it is idle and the caller is another thread.</summary>
    public void KickIfIdle()
    {
        if (t_current != this && IsIdle)
        {
            Parker.Unpark();
        }
    }

    /// <summary>migrate_disable() outermost: nr_pinned++ (only this CPU's thread changes it).</summary>
    public void PinTask(RtTask task)
    {
        Volatile.Write(ref _nrPinned, _nrPinned + 1);
        if (Diagnostics.RtEventSource.Log.IsVerbose)
        {
            task.Rare.MigrateDisabledAtNs = RtClock.NowNs();
            task.MigrateEnableWork = true; // the enable ends the trace
            Diagnostics.RtEventSource.Log.MigrateDisable(task.Id, Id);
        }
    }

    /// <summary>migrate_enable() outermost: nr_pinned--, and a deferred move becomes due.</summary>
    public void UnpinTask(RtTask task)
    {
        Volatile.Write(ref _nrPinned, _nrPinned - 1);
        if (task.MigrateEnableWork || Volatile.Read(ref _online.Active) == 0)
        {
            UnpinTaskSlow(task);
        }
    }

    /// <summary>
    /// The rest of an outermost migrate_enable() when the task's affinity changed, MDF_PUSH or a trace is
    /// pending, or the CPU is inactive. An affinity written after the flag is cleared here raises stop
    /// work itself (<c>MoveForAffinity</c>), so nothing is missed.
    /// </summary>
    private void UnpinTaskSlow(RtTask task)
    {
        Volatile.Write(ref task.MigrateEnableWork, false);
        if (task.RareOrNull is { MigrateDisabledAtNs: not 0 } rare)
        {
            Diagnostics.RtEventSource.Log.MigrateEnable(task.Id, Id, RtClock.NowNs() - rare.MigrateDisabledAtNs);
            rare.MigrateDisabledAtNs = 0;
        }

        RtScheduler.OnMigrateEnable(this, task);
    }

    /// <summary>A task exited inside a migrate-disabled section: drop its pin (on this CPU's thread or another).</summary>
    public void UnpinExited()
    {
        if (t_current == this)
        {
            Volatile.Write(ref _nrPinned, _nrPinned - 1);
        }
        else
        {
            Interlocked.Decrement(ref _nrUnpinnedElsewhere);
            if (Dying)
            {
                Parker.Unpark(); // an offline may be waiting for this pin: let the CPU check at once
            }
        }
    }

    /// <summary>
    /// The earliest deadline a timer is armed with: any deadline before it has passed just as well, and
    /// the timer paths subtract the lead from a deadline (<c>deadline - lead</c>), which wrapped around
    /// for one within the lead of <see cref="long.MinValue"/>: such a sleep armed on a busy CPU read as
    /// ~292 years away, and nothing fired it.
    /// </summary>
    internal const long EarliestArmedDeadlineNs = long.MinValue / 2;

    // The block the running task is about to await: from its awaiter to the ValueTask source that
    // suspends it (HrTimerSleeper, WaitQueueEntry), in one step on this CPU's thread, the only
    // thread that touches these.
    private RtWaitQueue? _preparedQueue;
    private long _preparedDeadlineNs;
    private short _preparedToken;
    private bool _prepared;

    /// <summary>
    /// Leaves what the running task is about to block on (from its awaiter, on this CPU's thread): a
    /// sleep until <paramref name="deadlineNs"/> when <paramref name="queue"/> is null, else a wait on
    /// the queue with that timeout (<see cref="long.MaxValue"/>: none). The ValueTask source takes it
    /// in the same step; returns the token that the ValueTask carries.
    /// </summary>
    public short PrepareBlock(RtWaitQueue? queue, long deadlineNs)
    {
        _preparedQueue = queue;
        _preparedDeadlineNs = Math.Max(deadlineNs, EarliestArmedDeadlineNs);
        _prepared = true;
        return unchecked(++_preparedToken);
    }

    /// <summary>
    /// For a ValueTask source's OnCompleted: the calling CPU thread's task and the block its awaiter
    /// prepared with <paramref name="token"/>: a wait on <paramref name="queue"/> when
    /// <paramref name="onQueue"/>, else a sleep. False, with the misuse noted on the task (it faults
    /// when this step ends), when the token is stale (taken already, or another await's) or names the
    /// other kind, or when the task's last block was resumed without its result (an awaiter completed
    /// by hand whose continuation never called GetResult): that wait's grant was never taken and its
    /// timeout never disarmed, so arming another would throw here, on the builder's thread-pool path.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called off a CPU thread (an awaiter completed by hand on another thread).</exception>
    public static bool TakeBlockOfCurrent(short token, bool onQueue, out RtTask task, out RtWaitQueue? queue, out long deadlineNs)
    {
        task = CurrentTask ?? throw ThrowHelper.AwaiterOffCpu();
        Cpu cpu = task.Cpu!;
        queue = cpu._preparedQueue;
        deadlineNs = cpu._preparedDeadlineNs;
        if (!cpu._prepared || token != cpu._preparedToken || (queue is not null) != onQueue)
        {
            task.NoteFlowMisuse(ThrowHelper.StaleAwaiter(task));
            return false;
        }

        cpu._prepared = false;
        cpu._preparedQueue = null; // not kept alive by the CPU
        if (!task.TryNoteBlockTaken())
        {
            task.NoteFlowMisuse(ThrowHelper.ResultNeverAsked(task)); // it faults: its end gives the grant back and disarms the timeout
            return false;
        }

        return true;
    }

    /// <summary>For a ValueTask source's GetResult: the calling CPU thread's task, resuming from the block of <paramref name="token"/>.</summary>
    /// <exception cref="InvalidOperationException">
    /// Called off a CPU thread, or for a block that was never awaited (a synchronous GetResult, in the
    /// step that made the awaiter or a later one: a sleep would be skipped, a wait would claim a grant it
    /// never waited for), or a second time after its await (a timed wait that timed out would say true).
    /// </exception>
    public static RtTask ResumingFromBlock(short token)
    {
        RtTask task = CurrentTask ?? throw ThrowHelper.AwaiterOffCpu();
        Cpu cpu = task.Cpu!;
        return (cpu._prepared && token == cpu._preparedToken) || !task.TakeBlockResult() ? throw ThrowHelper.ResultBeforeAwait(task) : task;
    }

    /// <summary>
    /// Forgets a block prepared in the step that just ended and never taken (an awaiter made and not
    /// awaited): its queue is not kept alive, and an awaiter kept past its step is always stale.
    /// </summary>
    private void ForgetPreparedBlock()
    {
        if (_prepared)
        {
            _prepared = false;
            _preparedQueue = null;
        }
    }

    /// <summary>Arms a sleep: the task waits on this CPU's timer queue until <paramref name="deadlineNs"/>.</summary>
    public void ArmSleep(RtTask task, long deadlineNs)
    {
        using (Lock.EnterScope())
        {
            task.BlockedOn = this;
            _timers.Add(task, deadlineNs);
            if (deadlineNs < _idleReads.NextDeadline)
            {
                Volatile.Write(ref _idleReads.NextDeadline, deadlineNs);
            }
        }

        Scheduler.CheckCancelAfterBlock(task);
    }

    /// <summary>
    /// Arms the timeout of a timed wait (<c>schedule_timeout</c> under <c>wait_event_timeout</c>): the
    /// task, already listed on its wait queue, also sits on this CPU's timer queue until the deadline,
    /// when the timer takes it off the wait queue if it is still there (<see cref="TakeExpired"/>).
    /// Its <see cref="RtTask.BlockedOn"/> stays the wait queue.
    /// </summary>
    public void ArmWaitTimeout(RtTask task, long deadlineNs)
    {
        RtTaskRare rare = task.Rare;
        using (Lock.EnterScope())
        {
            rare.WaitTimerCpu = this;
            _timers.Add(task, deadlineNs);
            if (deadlineNs < _idleReads.NextDeadline)
            {
                Volatile.Write(ref _idleReads.NextDeadline, deadlineNs);
            }
        }
    }

    /// <summary>
    /// Disarms a timed wait's timeout, if one is armed (the waiting flow resumed, or the task ended). On
    /// any thread: the CPU holding the timer is found through <see cref="RtTaskRare.WaitTimerCpu"/>,
    /// re-read under that CPU's lock, as hotplug may move the timer meanwhile.
    /// </summary>
    public static void DisarmWaitTimeout(RtTask task)
    {
        RtTaskRare? rare = task.RareOrNull;
        while (rare is not null && Volatile.Read(ref rare.WaitTimerCpu) is { } cpu)
        {
            using (cpu.Lock.EnterScope())
            {
                if (rare.WaitTimerCpu != cpu)
                {
                    continue; // moved by hotplug, or fired, meanwhile
                }

                if (cpu._timers.Remove(task))
                {
                    Volatile.Write(ref cpu._idleReads.NextDeadline, cpu._timers.NextExpiry);
                }

                rare.WaitTimerCpu = null;
                return;
            }
        }
    }

    /// <summary>Cancels a sleep (IWaitSource): true when the task was still asleep here.</summary>
    public bool TryRemove(RtTask task)
    {
        using (Lock.EnterScope())
        {
            if (!_timers.Remove(task))
            {
                return false;
            }

            Volatile.Write(ref _idleReads.NextDeadline, _timers.NextExpiry);
            return true;
        }
    }

    /// <summary>A sleeper ended (IWaitSource): its timer goes; a sleep grants nothing to give back, and boosts nobody.</summary>
    RtTask? IWaitSource.Abandon(RtTask task)
    {
        _ = TryRemove(task);
        return null;
    }

    bool IWaitSource.TryRemove(RtTask task, out RtTask? boosted)
    {
        boosted = null; // a sleep boosts nobody
        return TryRemove(task);
    }

    /// <summary>Wakes every sleeper whose deadline has passed (on this CPU's thread, outside the lock).</summary>
    private void FireTimers(long now)
    {
        TakeExpired(now, _expired, _expiredBoosts);
        WakeExpired();
    }

    /// <summary>
    /// The timer duty of an idle CPU (see <see cref="TimerDuty"/>): fires the expired timers of the
    /// busy CPUs, as their interrupt would; the woken tasks are placed as any wakeup is (here, when
    /// their own CPU runs a higher or a pinned task).
    /// </summary>
    private void FireBusyCpusTimers(long now)
    {
        foreach (Cpu cpu in Scheduler.Cpus)
        {
            // Only a CPU running a task: one that has just left idle for these very timers (they
            // may be its own wakeup) fires them itself, without a cross-CPU hop.
            if (cpu != this && cpu.NextDeadline <= now && !cpu.IsIdle && cpu.RunningPrio >= 0)
            {
                cpu.TakeExpired(now, _expired, _expiredBoosts);
            }
        }

        WakeExpired();
    }

    /// <summary>
    /// For a preemption point that sees only <see cref="PendingWork.TimerSoon"/>: true once this CPU's
    /// earliest sleeper deadline or RR slice has passed (the point must take the slow path and fire
    /// it), when the point is the last before a sleeper's deadline and spins to it (<see cref="AnticipatesTimer"/>),
    /// when the bit is no longer set on the CPU (a stale copy in the gate: the slow path clears it), or
    /// when a clock read finds the CPU should not poll (<see cref="PollsTimer"/>): the bit outlived what set
    /// it (the timer was fired by an idle CPU, cancelled, or moved; the CPU idled, or switched from a task
    /// with sparse points to one without, through a path that does not look), and the slow path clears it.
    /// Else the countdown runs to a deadline far away, or to none, and every point takes this path.
    /// </summary>
    public bool NearTimerDue(RtTask task)
    {
        if ((Pending & PendingWork.TimerSoon) == 0)
        {
            return true;
        }

        if (SkipsClockRead())
        {
            return false; // far enough from the timer, by the task's point gap, to pass this point on a count
        }

        long now = RtClock.NowNs();
        long gap = NotePoint(task, now);
        long earliest = EarliestTimer;
        if (now >= earliest || (task.PreemptCount == 0 && AnticipatesTimer(now, gap))) // a preempt-disabled point cannot stop
        {
            return true;
        }

        if (!PollsTimer(now))
        {
            return true; // nothing to poll any more (the timer went, or this task's points are not known sparse): the slow path stops
        }

        CountPointsBeforeNextRead(earliest - now, gap);
        return false;
    }

    /// <summary>Moves this CPU's sleepers whose deadline has passed to <paramref name="into"/> (any thread).</summary>
    private void TakeExpired(long now, List<RtTask> into, List<RtTask> boostsInto)
    {
        using (Lock.EnterScope())
        {
            while (_timers.TryTakeExpired(now, out RtTask? task))
            {
                if (task.RareOrNull is { } rare && rare.WaitTimerCpu == this)
                {
                    // A timed wait's timeout: the task is woken as timed out only if this takes it off its
                    // wait queue (under that queue's gate, nested in this lock); a grant or a cancel that
                    // took it first wakes it themselves. WaitTimerCpu is cleared only after that decision:
                    // a resuming flow's disarm that reads it set waits for this lock, and one that reads
                    // it clear comes after the decision, so a later wait of the task is never taken for
                    // this one.
                    if (Volatile.Read(ref task.BlockedOn) is RtWaitQueue queue && queue.TryRemove(task, out RtTask? boosted))
                    {
                        rare.WaitTimedOut = true;
                        into.Add(task);
                        if (boosted is not null)
                        {
                            boostsInto.Add(boosted); // its boost drops from this thread once it holds no CPU's lock (WakeExpired)
                        }
                    }

                    Volatile.Write(ref rare.WaitTimerCpu, null);
                    continue;
                }

                into.Add(task);
            }

            Volatile.Write(ref _idleReads.NextDeadline, _timers.NextExpiry);
        }
    }

    private void WakeExpired()
    {
        foreach (RtTask owner in _expiredBoosts)
        {
            // A timed-out waiter's owner (an RtMutex's): its boost drops, and the chain walks on, from
            // here, as a priority set from another thread does (rt_mutex_adjust_prio_chain at the
            // waiter's removal), not one hop per rt/balance wakeup; before the waiter is woken, as the
            // kernel's waiter drops it before its lock call returns.
            Scheduler.PostBoost(owner, direct: true);
        }

        _expiredBoosts.Clear();
        foreach (RtTask task in _expired)
        {
            task.BlockedOn = null;
            task.ContinuationReady = true;
            Scheduler.TryWake(task);
        }

        _expired.Clear();
    }

    public override string ToString() => $"cpu{Id}";
}
