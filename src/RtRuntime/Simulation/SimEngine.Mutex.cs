using System.Globalization;

namespace RtRuntime.Simulation;

/// <summary>
/// RtMutexes and local locks with priority inheritance (the kernel's rt_mutex_lock / rt_mutex_unlock
/// and rt_mutex_adjust_prio_chain; the threaded <c>RtMutex</c> and <c>LocalLock</c>). A waiter lends the owner its priority at
/// once where the owner is held: a queued owner is requeued at it, a sleeping one wakes at it, one
/// waiting on an event or on another mutex moves among those waiters (and there lends it on to that
/// mutex's owner, along the chain); an owner running on another CPU takes it at its next preemption
/// point, yield or block (the threaded runtime's <c>SchedRequest.Recompute</c>). Unlock hands the mutex
/// to its top waiter, wakes it, then drops the unlocking task's boost at once. A lock handed over is
/// pending until its new owner runs: a task of strictly higher priority (for a local lock, also an
/// equal one, both in the normal class) that locks it first steals it (<c>rt_mutex_steal</c>,
/// <see cref="Scheduling.LockRules.Steals"/>), and the robbed waiter, listed again at the head of its
/// priority, blocks again when it runs (the threaded <c>RtMutex.ClaimOrReblock</c>, <c>LocalLockState.ClaimOrReblock</c>).
/// </summary>
internal sealed partial class SimEngine
{
    private readonly Dictionary<string, SimMutex> _mutexes = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Name, int Cpu), SimMutex> _localLocks = [];

    private readonly List<SimMutex> _allLocks = [];

    /// <summary>
    /// Every RtMutex and every CPU's instance of a local lock used so far, in creation order: a list,
    /// rebuilt only when a lock was added (the dictionaries only grow), so the per-event loops over it
    /// (accounting, invariants) allocate nothing.
    /// </summary>
    private List<SimMutex> AllLocks
    {
        get
        {
            if (_allLocks.Count != _mutexes.Count + _localLocks.Count)
            {
                _allLocks.Clear();
                _allLocks.AddRange(_mutexes.Values);
                _allLocks.AddRange(_localLocks.Values);
            }

            return _allLocks;
        }
    }

    /// <summary>
    /// local_lock: under NonRt, preempt_disable; under Rt, migrate_disable and then this CPU's instance
    /// of the lock, an rt_mutex (PREEMPT_RT's local_lock_t is a per-CPU spinlock_t, which is one). A
    /// lock refused (recursion, a deadlock) leaves the task unpinned again.
    /// </summary>
    private void LocalLock(SimTask task, string name)
    {
        if (_scenario.Model == PreemptionModel.NonRt)
        {
            _ = PreemptDisable(task);
            return;
        }

        // Pinned before the lock is its own, as the threaded LocalLock: at the migrate-disable limit the
        // overflow is reported and nothing is taken (a lock without its pin would be released by an unpaired enable).
        if (!MigrateDisable(task))
        {
            return;
        }

        if (!Lock(task, GetLocalLock(name, task.Cpu)))
        {
            MigrateEnable(task);
        }
    }

    /// <summary>
    /// local_trylock (the threaded <c>LocalLock.TryLock</c>): under Rt, this CPU's instance when it is free,
    /// or stolen (<see cref="TrySteal"/>), then migrate_disable; held by this task, a recursive lock,
    /// reported and ignored as a <see cref="LocalLock"/> is (the threaded one throws at the call in both
    /// forms); else nothing is taken and the task skips to after its next local unlock of it. NonRt:
    /// <see cref="LocalLock"/> (nothing else runs on the CPU while a holder is preempt-disabled, and no
    /// owner is kept, so a recursion there nests the preempt-disable).
    /// </summary>
    private void TryLocalLock(SimTask task, string name)
    {
        if (_scenario.Model == PreemptionModel.NonRt)
        {
            LocalLock(task, name);
            return;
        }

        SimMutex instance = GetLocalLock(name, task.Cpu);
        if (instance.Owner is null)
        {
            LocalLock(task, name);
            return;
        }

        if (RefuseRecursive(task, instance))
        {
            return;
        }

        if (task.MigrationDisabled < MaxMigrateDepth && TrySteal(task, instance))
        {
            _ = MigrateDisable(task);
            return;
        }

        Emit(task.Cpu, task, SimEventKind.LockFailed, other: instance.Name);
        SkipSection(task, instance);
    }

    /// <summary>local_unlock: this CPU's instance is released (to its top waiter), then migrate_enable; NonRt: preempt_enable.</summary>
    private void LocalUnlock(SimTask task, string name)
    {
        if (_scenario.Model == PreemptionModel.NonRt)
        {
            PreemptEnable(task, "local_unlock (as preempt_enable)");
            return;
        }

        if (Unlock(task, GetLocalLock(name, task.Cpu)))
        {
            MigrateEnable(task);
        }
    }

    private SimMutex GetLocalLock(string name, int cpu)
    {
        if (!_localLocks.TryGetValue((name, cpu), out SimMutex? instance))
        {
            instance = new SimMutex($"{name}/cpu{cpu}", cpu);
            _localLocks.Add((name, cpu), instance);
        }

        return instance;
    }

    /// <summary>
    /// rt_mutex_lock: take it when free, else block on it and boost the chain of owners, for at most
    /// <paramref name="timeoutUs"/> µs when above 0 (rt_mutex_timed_lock). False when refused.
    /// </summary>
    private bool Lock(SimTask task, SimMutex mutex, long timeoutUs = 0)
    {
        if (mutex.Owner is null)
        {
            mutex.Owner = task;
            (task.Held ??= []).Add(mutex);
            return true;
        }

        if (TrySteal(task, mutex))
        {
            return true;
        }

        if (RefuseLock(task, mutex))
        {
            return false;
        }

        TakeSchedRequest(task); // the step ends: before the task is listed at its priority
        task.WaitingOn = mutex.Waiters;
        task.BlockedOn = mutex;
        if (!LoseOnBlock(task))
        {
            mutex.Waiters.Add(task);
        }

        if (!TakeFault(SimFault.NoPriorityInheritance))
        {
            BoostChanged(mutex.Owner); // before this CPU picks: an owner queued here runs next, at the waiter's priority
        }

        Block(task, SimTaskState.Waiting);
        task.LockWaitGen++;
        if (timeoutUs > 0)
        {
            Post(_now + timeoutUs, SimEventType.LockTimeout, task, gen: task.LockWaitGen);
            task.LockTimeoutArmed = true;
        }

        return true;
    }

    /// <summary>
    /// rt_mutex_trylock: take the mutex when it is free, or steal it (<see cref="TrySteal"/>); else nothing
    /// is taken and the task skips its section. A mutex the task holds is refused as a lock is (reported,
    /// and the step does nothing), as the threaded <c>TryLock</c> throws for every form of taking it.
    /// </summary>
    private void TryLock(SimTask task, SimMutex mutex)
    {
        if (RefuseRecursive(task, mutex) || TrySteal(task, mutex))
        {
            return;
        }

        if (mutex.Owner is null)
        {
            _ = Lock(task, mutex);
            return;
        }

        Emit(task.Cpu, task, SimEventKind.LockFailed, other: mutex.Name);
        SkipSection(task, mutex);
    }

    /// <summary>
    /// A timed lock's wait outlasted its timeout (the event of its current wait, so it was neither
    /// handed the mutex nor refused since): it leaves the waiters, the owner's boost drops at once along
    /// the chain (the threaded runtime drops it before the waiter resumes), and the task wakes after
    /// its section.
    /// </summary>
    private void LockTimedOut(SimTask task)
    {
        if (task.PendingLock is not null)
        {
            // Handed the mutex and not run since (robbed of it or not): its claim decides, as the
            // threaded timer leaves a runnable waiter to its claim (it takes the mutex, or, robbed, its
            // wait ends then).
            task.TimedOutWhilePending = true;
            return;
        }

        if (task.State != SimTaskState.Waiting || task.BlockedOn is not { } mutex)
        {
            return;
        }

        _ = mutex.Waiters.Waiters.Remove(task); // not listed: lost by an injected fault
        task.BlockedOn = null;
        task.WaitingOn = null;
        Emit(task.Cpu, task, SimEventKind.LockFailed, other: mutex.Name);
        BoostChanged(mutex.Owner);
        SkipSection(task, mutex);
        Wake(task);
    }

    /// <summary>
    /// The timed wait of <paramref name="task"/> ended before its timeout (it was handed the mutex): the
    /// timeout's event no longer counts as work to come, and the run loop drops it unhandled.
    /// </summary>
    private void DisarmLockTimeout(SimTask task)
    {
        if (task.LockTimeoutArmed)
        {
            task.LockTimeoutArmed = false;
            _liveNonTick--;
        }
    }

    /// <summary>A timeout event whose wait ended otherwise (disarmed): dropped without moving the clock.</summary>
    private static bool IsDisarmedTimeout(SimEvent ev) =>
        ev.Type == SimEventType.LockTimeout && (!ev.Task!.LockTimeoutArmed || ev.Gen != ev.Task.LockWaitGen);

    /// <summary>A lock that failed (timed out, or a try-lock of a held lock): the task goes on after its next unlock of that lock (validated to exist).</summary>
    private static void SkipSection(SimTask task, SimMutex mutex)
    {
        // A local lock's instance is named "name/cpuN"; its steps name the lock.
        (SimStepKind unlockKind, string target) = mutex.Cpu >= 0 ? (SimStepKind.LocalUnlock, mutex.Name[..mutex.Name.LastIndexOf('/')]) : (SimStepKind.Unlock, mutex.Name);
        for (int pc = task.Pc; pc < task.Steps.Length; pc++)
        {
            if (task.Steps[pc].Kind == unlockKind && task.Steps[pc].Target == target)
            {
                task.Pc = pc + 1;
                return;
            }
        }

        task.Pc = task.Steps.Length;
    }

    /// <summary>A recursive lock, or a wait that would close a cycle of owners (rt_mutex's deadlock detection): reported, and the step does nothing (the threaded await throws).</summary>
    private bool RefuseLock(SimTask task, SimMutex mutex)
    {
        if (RefuseRecursive(task, mutex))
        {
            return true;
        }

        var chain = new List<string>();
        for (SimMutex? m = mutex; m?.Owner is { } owner; m = owner.BlockedOn)
        {
            chain.Add($"{m.Name} held by {owner.Name}");
            if (owner.BlockedOn?.Owner == task)
            {
                chain.Add($"{owner.BlockedOn.Name} held by {task.Name}");
                Bug(task, $"BUG: circular locking deadlock detected: {task.Name}/{task.Id} would wait for {string.Join(", waiting for ", chain)}; the lock is ignored");
                return true;
            }
        }

        return false;
    }

    /// <summary>A lock of a mutex the task holds: reported, and the step does nothing (the threaded runtime throws at the call).</summary>
    private bool RefuseRecursive(SimTask task, SimMutex mutex)
    {
        if (mutex.Owner != task)
        {
            return false;
        }

        Bug(task, $"{task.Name} already holds {mutex.Name}: {(mutex.Cpu >= 0 ? "a local lock" : "an RtMutex")} is not recursive; the lock is ignored");
        return true;
    }

    /// <summary>rt_mutex_unlock: hand over to the top waiter, then drop what the unlocking task was lent. False when the task does not hold it.</summary>
    private bool Unlock(SimTask task, SimMutex mutex)
    {
        if (mutex.Owner != task || task.Held?.Remove(mutex) != true)
        {
            Bug(task, $"{task.Name} unlocked {mutex.Name}, which {(mutex.Owner is { } owner ? owner.Name + " holds" : "is free")}; ignored");
            return false;
        }

        HandOver(mutex);
        task.MutexBoost = TopWaiterPrio(task);
        ApplyOwnPrio(task); // at once, on its own CPU (the threaded RtMutex.Unlock's Deboost)
        return true;
    }

    /// <summary>The mutex goes to its top waiter, which is woken at its new boost (the waiters it passed now wait for it); free without waiters.</summary>
    private void HandOver(SimMutex mutex)
    {
        List<SimTask> waiters = mutex.Waiters.Waiters;
        if (waiters.Count == 0)
        {
            mutex.Owner = null;
            return;
        }

        SimTask next = waiters[0];
        waiters.RemoveAt(0);
        next.BlockedOn = null;
        mutex.Owner = next;
        (next.Held ??= []).Add(mutex);
        next.MutexBoost = TopWaiterPrio(next);
        SetInheritedPrio(next); // not listed anywhere now: its wakeup places it at the new priority
        mutex.Pending = next; // its timeout stays armed until its claim, as the threaded timer stays until the flow resumes
        next.PendingLock = mutex;

        if (next.State == SimTaskState.Waiting)
        {
            Wake(next);
        }
        else
        {
            next.WaitingOn = null; // robbed before and not run since: still queued (or switched in), it claims the mutex when it runs
        }
    }

    /// <summary>
    /// rt_mutex_steal: <paramref name="task"/> takes a lock (an RtMutex or a local lock's instance)
    /// handed to a waiter that has not run since, when it outranks it and every listed waiter (a local
    /// lock: or equals them, all in the normal class). The robbed waiter, still queued to run, is listed
    /// again at the head of its priority; its claim will block it again.
    /// </summary>
    private bool TrySteal(SimTask task, SimMutex mutex)
    {
        // An RtMutex's pending owner whose priority is a loan from this mutex's waiters is not robbed (the
        // threaded RtMutex: only its CPU could take the loan back, and it would stay listed above its
        // lender); a loan at or below its own priority (a lower waiter still listed) does not matter; a
        // local lock's robbed waiter is requeued at once under its CPU's lock, as here.
        if (mutex.Pending is not { } robbed || robbed == task || !Scheduling.LockRules.Steals(task.Prio, Math.Max(robbed.Prio, mutex.TopWaiterPrio), lateral: mutex.Cpu >= 0)
            || (mutex.Cpu < 0 && Math.Max(robbed.NormalPrio, TopWaiterPrio(robbed, except: mutex)) < robbed.MutexBoost))
        {
            return false;
        }

        mutex.Pending = null;
        mutex.Steals++;
        robbed.Held!.Remove(mutex);
        mutex.Owner = task;
        (task.Held ??= []).Add(mutex);
        BoostChanged(robbed); // a local lock's robbed waiter: its loan from the waiters ends (queued: requeued) before it is listed, at the head of its own priority
        robbed.BlockedOn = mutex;
        robbed.WaitingOn = mutex.Waiters;
        mutex.Waiters.AddFirstOfPrio(robbed);
        Emit(task.Cpu, task, SimEventKind.LockStolen, other: mutex.Name);
        BoostChanged(task); // lent at most the top waiter's priority, below its own
        return true;
    }

    /// <summary>
    /// The claim of a task an unlock handed a lock to, as it runs again (before its next step): it
    /// holds the mutex now, or, robbed, it blocks again, unless its timeout came meanwhile (then its
    /// wait ends as timed out). False when it blocked.
    /// </summary>
    private bool ClaimLock(SimTask task, SimMutex mutex)
    {
        task.PendingLock = null;
        bool timedOut = task.TimedOutWhilePending;
        task.TimedOutWhilePending = false;
        if (mutex.Pending == task)
        {
            mutex.Pending = null;
            DisarmLockTimeout(task);
            return true;
        }

        if (!timedOut && task.BlockedOn == mutex && mutex.Waiters.Waiters.Contains(task))
        {
            int prio = task.Prio;
            TakeSchedRequest(task); // the step ends: its place among the waiters follows its priority
            if (task.Prio != prio && mutex.Waiters.Waiters.Remove(task))
            {
                mutex.Waiters.Add(task);
                BoostChanged(mutex.Owner);
            }

            Block(task, SimTaskState.Waiting);
            return false;
        }

        if (task.BlockedOn == mutex)
        {
            _ = mutex.Waiters.Waiters.Remove(task);
            task.BlockedOn = null;
            task.WaitingOn = null;
            BoostChanged(mutex.Owner);
        }

        Emit(task.Cpu, task, SimEventKind.LockFailed, other: mutex.Name);
        SkipSection(task, mutex);
        return true;
    }

    /// <summary>An ending task's mutexes pass on (the threaded runtime reports <c>LockHeldAtExit</c>).</summary>
    private void ReleaseHeldAtExit(SimTask task)
    {
        if (task.Held is not { Count: > 0 } held)
        {
            return;
        }

        Bug(task, $"exited holding {string.Join(", ", held)}; released");
        SimMutex[] mutexes = [.. held];
        held.Clear();
        foreach (SimMutex m in mutexes)
        {
            HandOver(m);
        }

        task.MutexBoost = 0;
    }

    /// <summary>The highest top-waiter priority over the mutexes <paramref name="owner"/> holds (0: none), but <paramref name="except"/>.</summary>
    private static int TopWaiterPrio(SimTask owner, SimMutex? except = null)
    {
        int boost = 0;
        if (owner.Held is { } held)
        {
            foreach (SimMutex m in held)
            {
                if (m != except)
                {
                    boost = Math.Max(boost, m.TopWaiterPrio);
                }
            }
        }

        return boost;
    }

    /// <summary>
    /// rt_mutex_adjust_prio_chain: the waiters of a mutex <paramref name="owner"/> holds changed. Its
    /// boost follows, and if it is itself blocked on a mutex, its move among those waiters changes that
    /// owner's boost in turn. The chain ends at an owner whose boost stays, or one not blocked on a mutex.
    /// </summary>
    private void BoostChanged(SimTask? owner)
    {
        for (int step = 0; owner is not null && step <= _tasks.Length; step++) // no cycle: RefuseLock
        {
            int boost = TopWaiterPrio(owner);
            if (boost == owner.MutexBoost)
            {
                return;
            }

            owner.MutexBoost = boost;
            if (!ApplyBoost(owner))
            {
                return;
            }

            owner = owner.BlockedOn!.Owner;
        }
    }

    /// <summary>
    /// The effective priority of <paramref name="task"/> follows its boost where it is held (rt_mutex_setprio):
    /// true when it moved among the waiters of a mutex, whose owner's boost must follow.
    /// </summary>
    private bool ApplyBoost(SimTask task)
    {
        int prio = task.EffectivePrio;
        if (prio == task.Prio)
        {
            return false;
        }

        switch (task.State)
        {
            case SimTaskState.Running:
                task.BoostPending = true;
                _cpus[task.Cpu].StopPending = true; // its next preemption point takes the slow path, which applies it
                return false;
            case SimTaskState.Queued:
            {
                SimCpu cpu = _cpus[task.Cpu];
                int old = task.Prio;
                Dequeue(cpu, task);
                SetInheritedPrio(task);
                Enqueue(cpu, task, atHead: prio < old && prio > 0); // need_resched when it now outranks the runner
                _rebalance = true; // a raised task may run on a CPU busy below it
                return MoveRobbedWaiter(task);
            }

            case SimTaskState.Waiting:
                SetInheritedPrio(task);
                if (task.WaitingOn!.Waiters.Remove(task)) // not listed: lost by an injected fault
                {
                    task.WaitingOn.Add(task); // at the tail of its new priority
                }

                return task.BlockedOn is not null;
            default:
                SetInheritedPrio(task); // asleep or waiting for an affinity change: its wakeup places it at the new priority
                return false;
        }
    }

    /// <summary>
    /// A queued task listed on an RtMutex (robbed of it, not run since) whose priority changed moves
    /// among its waiters, at the tail of its new priority; true when it did (its owner's loan follows).
    /// </summary>
    private static bool MoveRobbedWaiter(SimTask task)
    {
        if (task.BlockedOn is not { } mutex || !mutex.Waiters.Waiters.Remove(task))
        {
            return false;
        }

        mutex.Waiters.Add(task);
        return true;
    }

    /// <summary>A running task takes its effective priority now (its own step, or its point after a boost from elsewhere).</summary>
    private void ApplyOwnPrio(SimTask task)
    {
        task.BoostPending = false;
        int old = task.Prio;
        if (task.EffectivePrio == old)
        {
            return;
        }

        SetInheritedPrio(task);
        OwnPrioChanged(task, old);
    }

    private void SetInheritedPrio(SimTask task)
    {
        if (task.Prio == task.EffectivePrio)
        {
            return;
        }

        task.Prio = task.EffectivePrio;
        Emit(task.Cpu, task, SimEventKind.PiSetPrio, other: task.Prio.ToString(CultureInfo.InvariantCulture));
    }
}
