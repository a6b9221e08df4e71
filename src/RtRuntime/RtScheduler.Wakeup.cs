using System.Runtime.CompilerServices;
using RtRuntime.Cpus;
using RtRuntime.Diagnostics;
using RtRuntime.PerCpu;
using RtRuntime.Scheduling;
using RtRuntime.Tasks;

namespace RtRuntime;

/// <summary>try_to_wake_up and placement, posted continuations, cancellation, BUG reports, task exit.</summary>
public sealed partial class RtScheduler
{
    private readonly long[] _bugCounts = new long[Enum.GetValues<BugKind>().Length]; // longs: an int's Sum overflows (and throws) past 2^31 reports
    private readonly ConditionalWeakTable<LocalLock, object?> _localLocks = [];
    private readonly ConditionalWeakTable<RtMutex, object?> _mutexes = [];
    private readonly RateLimit[] _bugLogLimits; // one per BugKind
    private readonly RateLimit _affinityLogLimit;

    /// <summary>Raised for every kernel-style BUG found in task code (on the thread that found it).</summary>
    public event Action<BugReport>? BugReported;

    /// <summary>Number of BUG reports so far.</summary>
    public long BugCount => _bugCounts.Sum();

    /// <summary>
    /// try_to_wake_up: makes a blocked task runnable. The caller has already made the wakeup's effect
    /// visible (continuation ready, or a posted continuation). A task still running its step gets a
    /// flag the dispatcher checks when the step ends (ttwu_runnable).
    /// </summary>
    internal void TryWake(RtTask task, bool fromPost = false)
    {
        while (true)
        {
            int state = Volatile.Read(ref task.Run);
            if (state == TaskRunState.Blocked)
            {
                if (TryClaimBlocked(task, fromPost))
                {
                    Activate(task);
                    return;
                }

                continue;
            }

            if (state == TaskRunState.Running)
            {
                Interlocked.Exchange(ref task.WakeWhileRunning, 1);
                if (Volatile.Read(ref task.Run) != TaskRunState.Blocked)
                {
                    return; // the dispatcher will see the flag after the step
                }

                // The dispatcher blocked the task meanwhile: whoever clears the flag owns the wakeup.
                if (Interlocked.Exchange(ref task.WakeWhileRunning, 0) == 1 && TryClaimBlocked(task, fromPost))
                {
                    Activate(task);
                }

                return;
            }

            return; // queued (already runnable), created, or dead
        }
    }

    /// <summary>
    /// A wakeup's Blocked → Queued. A post's (<see cref="PostToTask"/>: a second flow of the task) may
    /// wake a task still listed on a wait queue, which every other waker takes off the list under the
    /// queue's gate first: it changes the run state under that gate, so that a priority change that
    /// found the task listed and blocked there (<see cref="RtWaitQueue.TryApplySchedRequestToListed"/>,
    /// which rewrites its priority in place without the lock of the CPU this wakeup places it on) is
    /// over before the enqueue reads the priority it queues the task at, or finds it queued and leaves
    /// the request to that enqueue. Without it the enqueue could index the task at the old priority
    /// and the change rewrite it there, corrupting that run queue (review helper-107).
    /// </summary>
    private static bool TryClaimBlocked(RtTask task, bool fromPost) =>
        fromPost && Volatile.Read(ref task.BlockedOn) is RtWaitQueue queue
            ? queue.TryClaimBlockedUnderGate(task)
            : Interlocked.CompareExchange(ref task.Run, TaskRunState.Queued, TaskRunState.Blocked) == TaskRunState.Blocked;

    /// <summary>select_task_rq + enqueue for a task whose run state is already Queued.</summary>
    /// <param name="task">The task to place.</param>
    /// <param name="wakeup">
    /// False for a task that was runnable already and only changes CPU (an affinity change's
    /// move_queued_task): no sched_wakeup is traced and no wakeup-latency sample starts, as the kernel
    /// traces such a move as sched_migrate_task alone (its enqueue does); a sample a real wakeup started
    /// is kept, so the latency recorded at the switch-in is the wakeup's, not the move's.
    /// </param>
    internal void Activate(RtTask task, bool wakeup = true)
    {
        Cpu? prev = task.Cpu;
        int pinned = task.MigrationDisabled > 0 && prev is not null ? prev.Id : -1;
        int prio = PlacementPrio(task);
        int target = Placement.SelectCpu(prio, task.AffinityMask, pinned, prev?.Id ?? -1, _cpuViews, sparePinned: Policy == BalancePolicy.WorkConserving, soleCpu: task.SoleCpu);
        if (target < 0)
        {
            target = SelectFallbackCpu(task, exclude: null);
        }

        Cpu cpu = _cpus[target];
        CpuSet mask = task.AffinityMask; // read before the task can run (and end) there
        if (wakeup)
        {
            TraceWakeup(task, cpu, prio); // the priority its enqueue gives it, not a task.Prio a pending SetPriority is about to replace
        }

        if (!cpu.TryQueueWake(task))
        {
            cpu.Enqueue(task);
        }

        // The running priority is read after the push, from the line the push has just written (a task
        // affine to one CPU was placed without reading it): read first, the line would come shared and
        // the push would then have to take it from the target's cache a second time. The task may be
        // running there by now, which MoveEqualPriorityRunner tells apart.
        int running = cpu.RunningPrio;
        if (running == prio)
        {
            MoveEqualPriorityRunner(cpu, task, prio, mask);
        }
        else if (pinned >= 0 && BalanceRules.PinnedWakeupRepairs(Policy, prio, running))
        {
            // A migrate-disabled task woke behind a higher runner on its CPU: that runner moves to a CPU
            // running below the pinned task, if there is one, so the pinned task runs now (WorkConserving).
            Balancer.RequestPushRunning(cpu, onlyWithTarget: true, targetBelow: prio);
        }
    }

    /// <summary>
    /// The priority select_task_rq places <paramref name="task"/> by: the one its enqueue gives it. A
    /// priority set from another thread while it slept (<see cref="SetPriority"/>, <see cref="SetScheduler"/>,
    /// an RtMutex's boost) waits for that enqueue, under the target CPU's lock, where the kernel has
    /// changed it already; placed by the old one, a raised task went back behind a higher runner on its
    /// previous CPU while another ran below it (and a lowered one preempted a task it no longer
    /// outranks, or passed over an idle CPU). A local lock's boost is left out: its holder is
    /// migrate-disabled, and returns to its CPU whatever its priority.
    /// </summary>
    private static int PlacementPrio(RtTask task)
    {
        if (task.RareOrNull is not { } rare || Volatile.Read(ref rare.SchedRequest) is not (var request and not 0))
        {
            return task.Prio;
        }

        int normal = SchedRequest.TryDecode(request, task, out SchedPolicy policy, out int priority)
            ? (policy == SchedPolicy.Normal ? 0 : priority)
            : task.NormalPrio; // a recompute (a boost changed), or a priority alone for a task now Normal
        return Math.Max(normal, Volatile.Read(ref rare.MutexBoost));
    }

    /// <summary>
    /// check_preempt_equal_prio: <paramref name="task"/> (read before its enqueue: <paramref name="prio"/>,
    /// <paramref name="mask"/>) woke on <paramref name="cpu"/> at its running task's priority. If the woken task has no CPU below it elsewhere while the runner has one, the
    /// runner is asked to move (the stopper, at its next preemption point; it re-checks), so both run
    /// (<see cref="BalanceRules.EqualPriorityMovesRunner"/>, shared with the simulator).
    /// </summary>
    private void MoveEqualPriorityRunner(Cpu cpu, RtTask task, int prio, CpuSet mask)
    {
        // The runner first: it is on the line the push has just written (CpuPri), and when it is the
        // woken task itself (it ran before this read) nothing more is read. Then neither task has a
        // lower CPU to go to unless some other CPU runs below prio, asked of the priority lines
        // placement read, so a wakeup among equally busy CPUs (a spawn burst) reads nothing more.
        // (A runner that started after the woken task ran and blocked again is judged as if it had
        // been running at the wakeup: at worst it moves to a CPU running below it.)
        if (cpu.Running is not { } runner || runner == task)
        {
            return;
        }

        int lowest = Placement.FindLowest(prio, AllCpus, cpu.Id, _cpuViews);
        if (lowest < 0 || _cpus[lowest].TopPrio >= prio)
        {
            return;
        }

        int elsewhere = mask == AllCpus ? lowest : Placement.FindLowest(prio, mask, cpu.Id, _cpuViews); // the first search, when the mask is every CPU
        int runnerPrio = runner.PrioVolatile; // another CPU's running task: read off its lock
        int runnerTarget = Placement.FindLowest(runnerPrio, runner.AffinityMask, cpu.Id, _cpuViews);
        if (BalanceRules.EqualPriorityMovesRunner(
            prio,
            elsewhere >= 0 ? _cpus[elsewhere].TopPrio : int.MaxValue,
            runnerPrio,
            runnerTarget >= 0 ? _cpus[runnerTarget].TopPrio : int.MaxValue))
        {
            Balancer.RequestPushRunning(cpu);
        }
    }

    /// <summary>
    /// select_fallback_rq: an active CPU of the task's affinity other than <paramref name="exclude"/>
    /// (the CPU it leaves), else <paramref name="exclude"/> itself if the affinity allows it and it is
    /// active (the mask may have changed since the caller decided the task must leave); if the
    /// affinity allows no active CPU, it is widened to every CPU with a warning, as the kernel does on
    /// hotplug. Reads the mask once per attempt: a concurrent SetAffinityAsync is never overwritten.
    /// </summary>
    internal int SelectFallbackCpu(RtTask task, Cpu? exclude)
    {
        while (true)
        {
            CpuSet mask = task.AffinityMask;
            int target = Placement.FindLowest(task.Prio, mask, exclude?.Id ?? -1, _cpuViews);
            if (target >= 0)
            {
                return target;
            }

            if (exclude is not null && mask.Contains(exclude.Id) && (exclude.Active || mask == AllCpus))
            {
                // The CPU it leaves is the only choice: its mask changed to hold only that (active) CPU
                // since the caller looked, or no other CPU is active (a pinned task on a dying CPU).
                return exclude.Id;
            }

            if (mask == AllCpus)
            {
                return _cpus[0].Id; // no CPU is active (the runtime is stopping): any queue will do
            }

            bool widened;
            using (_affinityLock.EnterScope())
            {
                // Under the affinity lock, and only if no SetAffinityAsync changed the mask meanwhile
                // (then the loop places the task by the new one).
                widened = task.AffinityMask == mask;
                if (widened)
                {
                    task.AffinityMask = AllCpus;
                }
            }

            if (widened && LogAllowed(_affinityLogLimit, "no longer affine"))
            {
                RtLog.AffinityBroken(_logger, task.Name, exclude?.Id ?? mask.First);
            }
        }
    }

    /// <summary>
    /// A continuation posted to the task's SynchronizationContext comes back as a wakeup. If the task
    /// has ended (before the push, or since), its after-exit queue takes it, in the order posted.
    /// </summary>
    internal void PostToTask(RtTask task, SendOrPostCallback callback, object? state)
    {
        task.PushPosted(callback, state); // a full fence: the task's end sees this push, or this sees Dead
        if (Volatile.Read(ref task.Run) == TaskRunState.Dead)
        {
            task.AfterExit.Forward(task);
            return;
        }

        TryWake(task, fromPost: true);
    }

    /// <summary>
    /// Starts a task that runs an ended task's after-exit work: at its priority and policy, on its
    /// CPUs while one of them is active (else on any), named <c>&lt;name&gt;/posted</c>. Its own
    /// after-exit work goes to the same queue. Admitted while a stop still drains (the work may be
    /// the rest of a live RunAsync body, which the stop waits for); false once the stop cancels, or
    /// has drained. The RunAsync context's drains are admitted through the cancel grace too
    /// (<see cref="PostedAfterExit.CarriesLiveBodies"/>): a spawned body's continuation still wakes its
    /// task then, and a pooled body's goes on only there.
    /// </summary>
    internal bool TrySpawnPostedDrain(PostedAfterExit queue, Func<TaskContext, ValueTask> body)
    {
        RtTask root = queue.Root;
        CpuSet mask = root.AffinityMask;
        bool anyActive = false;
        for (int cpu = mask.First; cpu >= 0 && !anyActive; cpu = mask.Next(cpu))
        {
            anyActive = _cpus[cpu].Active;
        }

        var drain = new VoidRtTask(this, root.Name + PostedSuffix, root.BasePriority, root.Policy, anyActive ? mask : AllCpus, body);
        drain.Rare.AfterExit = queue; // before it is published: what is posted to it after its end comes back here
        drain.Rare.PostedDrain = true; // its end is counted apart (CountEnded): not one of the user's tasks
        Interlocked.Increment(ref _postedAdmitted); // before it can end, so the stop's summary never counts its end without it
        if ((Volatile.Read(ref _accepting) && TryAdmit(drain, default, flowContext: false)) || TryAdmitWhileDraining(drain, throughGrace: queue.CarriesLiveBodies))
        {
            return true;
        }

        Interlocked.Decrement(ref _postedAdmitted);
        return false;
    }

    // The runtime's own <name>/posted drains admitted, and those ended by final state (Completed,
    // Faulted, Cancelled): counted in the totals the stop waits on, and taken out of the user's
    // ShutdownSummary counts (reported there as Posted).
    private long _postedAdmitted;
    private readonly long[] _postedEnded = new long[3];

    private const string PostedSuffix = "/posted";

    /// <summary>
    /// Work posted to an ended task could not run: the runtime is stopping (logged at debug level,
    /// rate-limited). The <see cref="Tasks.RunAsyncContext"/>'s queue is named as that context: its root
    /// task never ran, so "task runasync, which has ended" named a task that never existed.
    /// </summary>
    internal void ReportPostsDroppedAfterExit(PostedAfterExit queue, int count)
    {
        if (count > 0 && LogAllowed(_postLogLimit, "continuation post failures"))
        {
            if (queue.CarriesLiveBodies)
            {
                RtLog.PostToRunAsyncContextDropped(_logger, count);
            }
            else
            {
                RtLog.PostAfterExitDropped(_logger, queue.Root.Name, count);
            }
        }
    }

    /// <summary>
    /// Work posted to the queue's ended task threw on its <c>&lt;name&gt;/posted</c> task (an async void
    /// call's exception, a raw callback): that task faults with it, and no one holds it, so the exception
    /// is logged (at error level, rate-limited). Work posted to the <see cref="Tasks.RunAsyncContext"/>
    /// is the rest of live RunAsync bodies, posted to no task that ended: it is logged as that
    /// context's (the message for an ended task named a task "runasync" that never existed).
    /// </summary>
    internal void ReportPostedAfterExitThrew(PostedAfterExit queue, Exception exception)
    {
        if (LogAllowed(_postLogLimit, "continuation post failures"))
        {
            string drain = queue.Root.Name + PostedSuffix;
            if (queue.CarriesLiveBodies)
            {
                RtLog.PostToRunAsyncContextThrew(_logger, drain, exception);
            }
            else
            {
                RtLog.PostAfterExitThrew(_logger, queue.Root.Name, drain, exception);
            }
        }
    }

    /// <summary>The body completed on a foreign thread (after ConfigureAwait(false)): finish it on its CPU.</summary>
    internal void OnBodyCompletedOffCpu(RtTask task)
    {
        // On the task's CPU thread the body completed in a step there (nothing to do: the step ends it),
        // unless the watcher is being armed: then the body had already completed off the CPU.
        bool offCpu = Cpu.CurrentTask != task || task.RareOrNull?.ArmingOffCpuWatch == true;
        if (offCpu && Volatile.Read(ref task.Run) != TaskRunState.Dead)
        {
            PostToTask(task, static _ => { }, null);
        }
    }

    /// <summary>migrate_enable() outermost: a deferred push (MDF_PUSH) or an affinity that excludes this CPU becomes stop work.</summary>
    internal static void OnMigrateEnable(Cpu cpu, RtTask task)
    {
        bool mustLeave = !task.AffinityMask.Contains(cpu.Id) || !cpu.Active;
        if (BalanceRules.MigrateEnableQueuesStop(task.RareOrNull?.MdfPush == true, cpu.PushTarget is not null && cpu.PushTarget != task, mustLeave))
        {
            cpu.SetPending(PendingWork.Stop);
        }
    }

    internal void RequestCancel(RtTask task)
    {
        if (task.IsCompleted || Interlocked.CompareExchange(ref task.CancelFlag, RtTask.CancelRequested, 0) != 0)
        {
            return;
        }

        Interlocked.Or(ref task.Gate, RtTask.GateCancel);
        CancelWait(task);
    }

    /// <summary>Takes a cancelled task back from its wait, if it waits; only the remover wakes it.</summary>
    /// <remarks>
    /// Every caller holds no CPU's lock (a canceller's thread, a stop's, a CPU thread outside its lock),
    /// so the boost the waiter gave a lock's owner drops from here, and the chain walks on, as a
    /// priority set from another thread does (<c>rt_mutex_adjust_prio_chain</c> at the waiter's
    /// removal), before the waiter is woken: the kernel's waiter drops it before its lock call returns.
    /// </remarks>
    internal void CancelWait(RtTask task)
    {
        if (Volatile.Read(ref task.BlockedOn) is { } wait && wait.TryRemove(task, out RtTask? boosted))
        {
            if (boosted is not null)
            {
                PostBoost(boosted, direct: true); // before the waiter resumes, as the kernel's waiter drops it before its lock call returns
            }

            task.BlockedOn = null;
            task.WaitCancelled = true;
            task.ContinuationReady = true;
            TryWake(task);
        }
    }

    /// <summary>Called by waits right after they registered the task: a cancellation that raced with the registration.</summary>
    internal void CheckCancelAfterBlock(RtTask task)
    {
        Interlocked.MemoryBarrier();
        if (task.CancelFlag != 0)
        {
            CancelWait(task);
        }
    }

    internal static void ThrowCancelled(RtTask task) =>
        throw new OperationCanceledException($"Task '{task.Name}' (id {task.Id}) was cancelled.", CancelledBy(task));

    /// <summary>
    /// The token a cancellation names: the spawn's, when it is the one cancelled (so that
    /// <c>catch (OperationCanceledException e) when (e.CancellationToken == token)</c> recognises it,
    /// through <c>AsTask</c> too), else none (<see cref="RtTask.Cancel"/>).
    /// </summary>
    private static CancellationToken CancelledBy(RtTask task) =>
        task.RareOrNull?.SpawnToken is { IsCancellationRequested: true } token ? token : default;

    /// <summary>The runtime's own blocking awaitables refuse to run preempt-disabled: "scheduling while atomic".</summary>
    internal void ThrowIfAtomic(RtTask task, string operation)
    {
        if (task.PreemptCount != 0)
        {
            string message = SchedulingWhileAtomicMessage(task);
            Report(new BugReport(BugKind.SchedulingWhileAtomic, task.Name, task.Id, task.Cpu?.Id ?? -1, message));
            ThrowHelper.ThrowSchedulingWhileAtomic($"{message}: {operation} at preempt depth {task.PreemptCount}");
        }
    }

    /// <summary>
    /// A foreign await suspended a preempt-disabled task: report, and reset the depth as schedule_debug()
    /// does. The NonRt local locks it holds stay held, marked as sections the reset ended.
    /// </summary>
    internal void ReportSchedulingWhileAtomic(RtTask task)
    {
        Report(new BugReport(BugKind.SchedulingWhileAtomic, task.Name, task.Id, task.Cpu?.Id ?? -1, SchedulingWhileAtomicMessage(task)));
        task.PreemptCount = 0;
        task.PreemptTop = 0;
        task.GuardEpoch++;
        if (Model == PreemptionModel.NonRt)
        {
            foreach (KeyValuePair<LocalLock, object?> entry in _localLocks)
            {
                entry.Key.MarkSectionsReset(task);
            }
        }
    }

    /// <summary>Remembers a local lock (weakly), so that a task ending while it holds one releases it.</summary>
    internal void TrackLocalLock(LocalLock localLock) => _localLocks.AddOrUpdate(localLock, null);

    /// <summary>Remembers an RtMutex (weakly), so that a task ending while it holds one passes it on (an uncontended one is known to nothing else).</summary>
    internal void TrackMutex(RtMutex mutex) => _mutexes.AddOrUpdate(mutex, null);

    /// <summary>Releases the local locks <paramref name="task"/> holds; returns "name on cpuN" for each, or null.</summary>
    private List<string>? ReleaseLocalLocks(RtTask task)
    {
        List<string>? released = null;
        foreach (KeyValuePair<LocalLock, object?> entry in _localLocks)
        {
            if (entry.Key.ReleaseHeldBy(task) is { } cpus)
            {
                (released ??= []).AddRange(cpus.Select(c => $"cpu{c}'s {entry.Key.Name}"));
            }
        }

        return released;
    }

    private static string SchedulingWhileAtomicMessage(RtTask task) =>
        $"BUG: scheduling while atomic: {task.Name}/{task.Id}/0x{task.PreemptCount:x8}";

    /// <summary>Reports a BUG found in task code; in strict mode also throws it into the task.</summary>
    internal void ReportBug(RtTask task, BugKind kind, string what)
    {
        string message = $"BUG: {what} in preemptible [{task.PreemptCount:x8}] code: {task.Name}/{task.Id}";
        Report(new BugReport(kind, task.Name, task.Id, task.Cpu?.Id ?? -1, message));
        if (Strict)
        {
            throw new InvalidOperationException(message + " (strict checks: take a PreemptDisable or MigrateDisable guard first)");
        }
    }

    /// <summary>Reports a local-lock deadlock <paramref name="task"/> would enter (<see cref="BugKind.Deadlock"/>); the caller throws.</summary>
    internal void ReportDeadlock(RtTask task, string message) =>
        Report(new BugReport(BugKind.Deadlock, task.Name, task.Id, task.Cpu?.Id ?? -1, message));

    private void Report(BugReport report)
    {
        Interlocked.Increment(ref _bugCounts[(int)report.Kind]);
        if (LogAllowed(_bugLogLimits[(int)report.Kind], "BUG reports"))
        {
            RtLog.Bug(_logger, report.Message);
        }

        if (RtEventSource.Log.On)
        {
            RtEventSource.Log.Bug(report.Message);
        }

        Raise(BugReported, report, nameof(BugReported));
    }

    /// <summary>The body completed: publish the outcome, fix up leaked guards, account. On the task's CPU thread.</summary>
    internal void Finish(RtTask task)
    {
        AbandonWait(task);
        ReleaseLeakedGuards(task);
        Volatile.Write(ref task.Run, TaskRunState.Dead);
        task.PublishOutcome();
        Ended(task, bodyCompleted: true);
    }

    /// <summary>A step threw outside the body (a posted callback): the task faults, the CPU goes on.</summary>
    internal void FaultFromStep(RtTask task, Exception exception)
    {
        AbandonWait(task);
        ReleaseLeakedGuards(task);
        Volatile.Write(ref task.Run, TaskRunState.Dead);
        bool bodyCompleted = task.HasCompletedBody; // before the outcome takes the body's slot (Ended)
        task.Complete(RtTaskState.Faulted, exception);
        Ended(task, bodyCompleted);
    }

    /// <summary>A cancelled task that never started ends without running its body.</summary>
    internal void CancelUnstarted(RtTask task)
    {
        Volatile.Write(ref task.Run, TaskRunState.Dead);
        task.Complete(RtTaskState.Cancelled, new OperationCanceledException($"Task '{task.Name}' was cancelled before it started.", CancelledBy(task)));
        Ended(task, bodyCompleted: false);
    }

    /// <summary>
    /// A task ending while one of its flows still waits (a body that returned without awaiting a wait
    /// it started, a task faulting from another flow, a blocked task ended at shutdown) leaves what it
    /// waits on, and gives back what it was granted and never took, so that a permit, an event, a lock
    /// handover or a timer does not go to a dead task.
    /// </summary>
    internal static void AbandonWait(RtTask task)
    {
        Cpu.DisarmWaitTimeout(task); // a timed wait's timeout

        // Cleared only if it still names the source just left: hotplug may have moved a sleeper's timer
        // to another CPU meanwhile (Cpu.MoveTimersTo sets BlockedOn to it, under both CPUs' locks), and a
        // plain clear would have lost that, leaving the timer armed for a dead task (the move's own
        // check of the completion can come before it is published). Then the new CPU is left too.
        while (Volatile.Read(ref task.BlockedOn) is { } source)
        {
            // Every caller holds no CPU's lock (the ending task's CPU thread outside its lock, a stop's
            // thread): the boost the task gave a lock's owner drops from here, and the chain walks on.
            if (source.Abandon(task) is { } boosted)
            {
                boosted.Scheduler.PostBoost(boosted, direct: true);
            }

            if (Interlocked.CompareExchange(ref task.BlockedOn, null, source) == source)
            {
                break;
            }
        }
    }

    /// <summary>
    /// Releases what an ended task still held: its local locks and RtMutexes (reported as a BUG when
    /// <paramref name="reportHeldLocks"/>: the task exited holding them), its pin, its guard depths.
    /// </summary>
    private void ReleaseLeakedGuards(RtTask task, bool reportHeldLocks = true)
    {
        // A held local lock holds a guard (Rt: migrate-disable, NonRt: preempt-disable), so only a task
        // ending with guards open can hold one, or one whose depth a "scheduling while atomic" reset
        // (its epoch moved: a NonRt holder keeps its lock through that, and may then fail to unlock it
        // from another CPU).
        List<string>? held = (task.MigrationDisabled | task.PreemptCount | task.GuardEpoch) != 0 ? ReleaseLocalLocks(task) : null;
        if (held is not null)
        {
            task.Rare.EndedHoldingLocalLock = true; // its undisposed guard names this object: no later life may reuse it
            if (reportHeldLocks)
            {
                Report(new BugReport(BugKind.LockHeldAtExit, task.Name, task.Id, task.Cpu?.Id ?? -1,
                    $"BUG: lock held when task exited: {task.Name}/{task.Id} held {string.Join(", ", held)} (released)"));
            }
        }

        if (task.RareOrNull is { MutexesHeld: > 0 } rare)
        {
            ReleaseMutexes(task, rare, reportHeldLocks);
        }

        if (task.MigrationDisabled > 0 && task.Cpu is { } cpu)
        {
            cpu.UnpinExited(); // exiting inside migrate_disable: keep nr_pinned honest
        }

        task.MigrationDisabled = 0;
        task.PreemptCount = 0;
        task.GuardEpoch++; // a guard or local lock left open is stale now: disposing it later is checked in full
    }

    /// <summary>
    /// The <see cref="RtMutex"/>es an ended task still holds pass to their top waiters (a mutex granted
    /// and never taken was given back by <see cref="AbandonWait"/> first: no BUG there).
    /// </summary>
    private void ReleaseMutexes(RtTask task, RtTaskRare rare, bool report)
    {
        var names = new List<string>();
        foreach (KeyValuePair<RtMutex, object?> entry in _mutexes)
        {
            if (entry.Key.Owner == task && entry.Key.Release(task, taken: null))
            {
                names.Add(entry.Key.Name);
            }

            if (rare.MutexesHeld == 0)
            {
                break;
            }
        }

        if (report && names.Count > 0)
        {
            Report(new BugReport(BugKind.LockHeldAtExit, task.Name, task.Id, task.Cpu?.Id ?? -1,
                $"BUG: lock held when task exited: {task.Name}/{task.Id} held {string.Join(", ", names)} (released)"));
        }
    }

    /// <summary>
    /// Counts a task's end (from <see cref="RtTask.Complete"/>, before its completion's full fence, so
    /// that <see cref="OnTaskGone"/>'s read of the accepting flag cannot pass the count): on the calling
    /// CPU when that is one of this runtime's, else on the task's.
    /// </summary>
    internal void CountEnded(RtTask task, RtTaskState state)
    {
        (Cpu.Current is { } here && here.Scheduler == this ? here : task.Cpu ?? _cpus[0]).CountEnded(state);
        if (task.RareOrNull is { PostedDrain: true })
        {
            Interlocked.Increment(ref _postedEnded[state == RtTaskState.Completed ? 0 : state == RtTaskState.Faulted ? 1 : 2]);
        }
    }

    /// <summary>The runtime's own posted drains that ended in <paramref name="state"/> (Completed, Faulted or Cancelled).</summary>
    private long PostedEnded(RtTaskState state) =>
        Interlocked.Read(ref _postedEnded[state == RtTaskState.Completed ? 0 : state == RtTaskState.Faulted ? 1 : 2]);

    /// <summary>
    /// After <see cref="RtTask.Complete"/> (which counted the end): releases what the task held and completes a drain.
    /// <paramref name="bodyCompleted"/>: the body had completed when the task ended, read before the
    /// completion (which keeps the outcome's exception where the body's task was, so that
    /// <see cref="RtTask.HasCompletedBody"/> reads true for every started task after it).
    /// </summary>
    private void Ended(RtTask task, bool bodyCompleted)
    {
        if (task.RareOrNull is { AffinityPending: not null })
        {
            CompleteAffinity(task); // it ended before it ran inside its new mask: nothing is left to move
        }

        task.RareOrNull?.CancellationRegistration.Dispose();
        if (task.RareOrNull?.AfterExit is { } queue && queue.Root != task && !bodyCompleted)
        {
            // A drain task ended before its loop did (a stop took it, before it started or at a point; work
            // posted to it threw in its step): it still held its queue. Read after the completion, the body's
            // state said "completed" for every started one, and the queue stayed held for good: nothing
            // posted to the ended task ran again, nor was it dropped and logged at a stop.
            queue.DrainEnded();
        }

        // Every ending wrote Dead before Complete's Interlocked.Exchange of the waiters, a full fence (no
        // second one per task here): a poster that pushed before it is seen below, one after it sees Dead.
        if (Volatile.Read(ref task.Posted) is not null || task.RareOrNull?.PostedRest is not null)
        {
            task.AfterExit.Forward(task); // posted in its last step, or left by a post that threw: still to run, after it
        }

        // A sleeper's timer that hotplug moved to another CPU after the ending's AbandonWait looked
        // (the dying CPU's queue was empty then) is taken off here, past the same fence; AdoptTimer
        // looks at the completion after its own, so one of the two sees the other.
        AbandonWait(task);

        Unregister(task);
        OnTaskGone();
    }
}
