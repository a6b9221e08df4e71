using RtRuntime.Cpus;
using RtRuntime.Scheduling;

namespace RtRuntime.Tasks;

/// <summary>
/// A mutex with priority inheritance for tasks on any CPU: the kernel's <c>rt_mutex</c>, on which
/// PREEMPT_RT builds <c>spinlock_t</c> and <c>mutex</c>. While a task waits for it, the owner runs at
/// least at the waiter's priority (a Normal owner joins the RT class), wherever it runs; the boost
/// follows chains (an owner waiting for another RtMutex boosts that one's owner), and ends when the
/// owner unlocks. Unlock hands the mutex to the highest waiter (FIFO within a priority), which takes
/// it when it next runs; a task of strictly higher priority that locks it before then steals it, and
/// the robbed waiter waits on at the head of its priority (<c>rt_mutex_steal</c>). Waiting is cancellable and may have a timeout (<see cref="RtWaitQueue.WaitAsync(TaskContext, TimeSpan)"/>);
/// a wait that would close a cycle of owners and waiters is refused and reported
/// (<see cref="BugKind.Deadlock"/>); a task that ends holding one is reported
/// (<see cref="BugKind.LockHeldAtExit"/>) and the mutex passes on.
/// </summary>
/// <remarks>
/// <para>Use it for data shared between CPUs (a <see cref="PerCpu.LocalLock"/> is the lock for per-CPU data):
/// an <see cref="RtSemaphore"/> of one permit has no owner, so a low-priority holder preempted by
/// middle-priority work keeps a high-priority waiter waiting for as long as that work runs (unbounded
/// priority inversion); here the holder runs at the waiter's priority until it unlocks.</para>
/// <para>An uncontended lock and unlock are one compare-and-swap each on the mutex (rt_mutex's fast path,
/// <c>try_cmpxchg(&amp;lock-&gt;owner)</c>). A waiter first marks the mutex contended, which sends the
/// owner's unlock to the slow path; every slow path of a runtime's RtMutexes (waiting, handover, the
/// boosts, the chain walks) holds one PI lock (the kernel has one per mutex and per task) for a few
/// writes. A boost reaches a running owner at its next preemption point, as a priority set from
/// another thread does (<see cref="RtScheduler.SetPriority"/>).</para>
/// </remarks>
public sealed class RtMutex : RtWaitQueue
{
    /// <summary>The state of a mutex with waiters (or that had some since its owner took it): its owner is <see cref="_owner"/>.</summary>
    private static readonly object Contended = new();

    private readonly RtScheduler _runtime;

    // null: free; an RtTask: held by it, uncontended (its unlock is a CAS back to null); Contended: held
    // by _owner, with waiters (every change then under the PI lock). The kernel's lock->owner with
    // RT_MUTEX_HAS_WAITERS.
    private object? _state;

    // The owner while Contended, under the PI lock. The kernel's owner and HAS_WAITERS bit are one word;
    // here they are two, so the order of their writes is what a lock-free reader (Owner) relies on: this
    // is written before _state becomes Contended and cleared only after _state has left it, so it is
    // never null while _state is Contended (review helper-158: a claim cleared it first, and Owner read
    // a held mutex with no owner).
    private RtTask? _owner;
    private RtTask? _pending; // the owner an unlock handed it to, until that task next runs (ClaimOrReblock): a higher locker may steal it; under the PI lock, read unlocked as a hint
    private long _steals;
    private int _taken; // acquisitions, written by the owner or by a handover to it: tells a guard's hold from a later one

    /// <summary>The next mutex its owner holds (<see cref="RtTaskRare.HeldMutexes"/>), under the PI lock.</summary>
    internal RtMutex? NextHeld;

    /// <summary>Creates a mutex for the tasks of <paramref name="runtime"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="runtime"/> is null.</exception>
    public RtMutex(RtScheduler runtime, string? name = null)
        : base((runtime ?? throw new ArgumentNullException(nameof(runtime))).PiLock)
    {
        _runtime = runtime;
        Name = name ?? "rt_mutex";
        runtime.TrackMutex(this);
    }

    /// <summary>The name in messages and reports.</summary>
    public string Name { get; }

    /// <summary>
    /// How many times a task of higher priority took the mutex from the waiter an unlock had handed it
    /// to, before that waiter ran (<c>rt_mutex_steal</c>).
    /// </summary>
    public long StealCount => Interlocked.Read(ref _steals);

    /// <summary>
    /// The task holding it now, or null (a snapshot, read without the PI lock: a task that held it at
    /// some moment during the read; never null for a mutex that stayed held throughout).
    /// </summary>
    public RtTask? Owner
    {
        get
        {
            while (true)
            {
                object? state = Volatile.Read(ref _state);
                if (state != Contended)
                {
                    return (RtTask?)state;
                }

                // Never null while Contended (see _owner): a null read here means the state has left
                // Contended since it was read (freed, or claimed uncontended): read it again.
                if (Volatile.Read(ref _owner) is { } owner)
                {
                    return owner;
                }
            }
        }
    }

    /// <summary>
    /// <c>rt_mutex_lock()</c>: takes the mutex, waiting (boosting its owner) while another task holds it;
    /// the await gives a guard whose disposal unlocks. Equivalent to <see cref="RtWaitQueue.WaitAsync(TaskContext)"/>
    /// followed by <see cref="Unlock"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The context is used off its CPU, the task already holds
    /// it (it is not recursive: see <see cref="TryLock"/>), or the task is preempt-disabled (scheduling
    /// while atomic); from the await: its wait would close a deadlock (reported; nothing is taken).</exception>
    /// <exception cref="OperationCanceledException">The task was cancelled while waiting (thrown by the await).</exception>
    /// <exception cref="ArgumentException"><paramref name="context"/> is a default value (no task's context), or its task belongs to another runtime.</exception>
    public RtMutexAwaitable LockAsync(TaskContext context)
    {
        RtTask task = context.CurrentTaskOf(nameof(context));
        CheckWaiter(task);
        _runtime.ThrowIfAtomic(task, "Lock");
        return new RtMutexAwaitable(this, task);
    }

    /// <summary>
    /// <c>rt_mutex_trylock()</c>: takes it at once if it is free (or steals it, as <see cref="LockAsync"/>
    /// would); false, with nothing taken, when another task holds it.
    /// </summary>
    /// <remarks>
    /// Taking a mutex the task already holds is a misuse that every form refuses alike, at the call,
    /// with an <see cref="InvalidOperationException"/> naming the mutex and the task: this one,
    /// <see cref="LockAsync"/>, <see cref="RtWaitQueue.WaitAsync(TaskContext)"/> and the timed waits
    /// (<see cref="TimeSpan.Zero"/> included). The kernel's <c>rt_mutex_trylock</c> returns 0 there and
    /// its <c>rt_mutex_lock</c> deadlocks (lockdep reports it); a false here would read as contention,
    /// which a caller retries or skips without ever learning it holds the lock.
    /// </remarks>
    /// <exception cref="InvalidOperationException">The context is used off its CPU, or the task already holds the mutex (it is not recursive).</exception>
    /// <exception cref="ArgumentException"><paramref name="context"/> is a default value (no task's context), or its task belongs to another runtime.</exception>
    public bool TryLock(TaskContext context, out RtMutexGuard guard)
    {
        RtTask task = context.CurrentTaskOf(nameof(context));
        CheckWaiter(task);
        if (TryTakeNow(task))
        {
            guard = new RtMutexGuard(this, task, _taken);
            return true;
        }

        guard = default;
        return false;
    }

    /// <summary>
    /// <c>rt_mutex_unlock()</c> by the owner (a mutex taken through <see cref="RtWaitQueue.WaitAsync(TaskContext)"/>
    /// or a timed wait): hands it to the highest waiter, and drops the boost it gave, which switches the
    /// task out at its next preemption point if a task queued on its CPU now outranks it.
    /// </summary>
    /// <exception cref="InvalidOperationException">The context is used off its CPU, or its task does not hold the mutex.</exception>
    /// <exception cref="ArgumentException"><paramref name="context"/> is a default value (no task's context).</exception>
    public void Unlock(TaskContext context)
    {
        RtTask task = context.CurrentTaskOf(nameof(context));
        if (!Release(task, taken: null))
        {
            throw NotOwner(task);
        }
    }

    /// <summary>The guard's unlock: false when <paramref name="task"/> does not hold it, or holds it under another acquisition than <paramref name="taken"/>.</summary>
    internal bool Release(RtTask task, int? taken)
    {
        if (taken is { } t && t != Volatile.Read(ref _taken))
        {
            return false; // another hold (only its owner changes the number while it holds it)
        }

        if (Interlocked.CompareExchange(ref _state, null, task) == task)
        {
            task.Rare.MutexesHeld--; // uncontended: it gave no boost
            DropStaleBoost(task, boostChanged: false);
            return true;
        }

        RtTask? next;
        bool ownerBoostChanged;
        bool nextBoostChanged = false;
        bool runnable = false;
        using (Gate.EnterScope())
        {
            if (_state != Contended || _owner != task)
            {
                return false;
            }

            if (_pending != task)
            {
                task.Rare.MutexesHeld--; // a handover its claim has not counted yet is not in the count (ReturnGrant at its end)
            }

            UnlinkHeldLocked(task);
            ownerBoostChanged = RecomputeBoostLocked(task);
            _pending = null; // a handed-over owner that ended before it ran gives it back (ReturnGrant)
            next = PopLocked();
            if (next is null)
            {
                Volatile.Write(ref _state, null);
                Volatile.Write(ref _owner, null); // after the state: never null while Contended (Owner)
            }
            else
            {
                // Handed over, pending until the task runs: the mutex stays contended (even with no
                // waiter left), so that a locker of higher priority takes the slow path and may steal
                // it meanwhile (the kernel's lock stays RT_MUTEX_HAS_WAITERS while its woken top
                // waiter has not run). The task's claim makes it uncontended again if no one waits.
                // A waiter robbed before and not run since is runnable still: it is not woken again.
                if (next.RareOrNull is { } nextRare && nextRare.RobbedOf == this)
                {
                    nextRare.RobbedOf = null;
                    runnable = true;
                }

                // Not counted in next's MutexesHeld here: its claim counts it on next's own thread
                // (ClaimOrReblock), where every other write of the count is, plain. Written here, on the
                // unlocker's thread, it raced a flow posted to next taking or releasing another mutex
                // on next's CPU, and a lost count left a mutex held past next's end.
                Volatile.Write(ref _taken, _taken + 1);
                Volatile.Write(ref _owner, next);
                _pending = next;
                LinkHeldLocked(next);
                nextBoostChanged = RecomputeBoostLocked(next); // the waiters it passed now wait for it
            }
        }

        if (next is not null)
        {
            if (!runnable)
            {
                if (nextBoostChanged)
                {
                    RtScheduler.RequestRecompute(next); // granted and not yet woken: its wakeup's enqueue applies it
                }

                Grant(next);
            }
            else if (nextBoostChanged)
            {
                // Robbed before and queued since (review helper-96): no enqueue is to come; applied where it
                // is held, through rt/balance (an unlock at a task's end may come under a CPU's lock).
                _runtime.PostBoost(next, direct: false);
            }
        }

        DropStaleBoost(task, ownerBoostChanged);
        return true;
    }

    /// <summary>
    /// The unlocking task drops at once what its effective priority still carries of this mutex's
    /// boost, or of one that ended before (a waiter that left while it ran posts the drop for its next
    /// preemption point, which has not come yet). Not for a task that ended (nothing to drop).
    /// </summary>
    private void DropStaleBoost(RtTask task, bool boostChanged)
    {
        if ((boostChanged || task.Prio != task.NormalPrio) && task.IsCurrent)
        {
            _runtime.Deboost(task);
        }
    }

    /// <summary>"does not hold": the message of an unlock by a task that is not the owner.</summary>
    internal InvalidOperationException NotOwner(RtTask task) => new(Owner is { } owner
        ? $"Task '{task.Name}' does not hold {Name}: task '{owner.Name}' (id {owner.Id}) does; only the owner may unlock it."
        : $"Task '{task.Name}' does not hold {Name}: it is not held (unlocked twice?).");

    private protected override void CheckWaiter(RtTask task)
    {
        if (task.Scheduler != _runtime)
        {
            ThrowHelper.ThrowOtherRuntime(task, $"RtMutex '{Name}'", "context");
        }

        ThrowIfHeldBy(task);
        _ = task.Rare; // made here, never under the PI lock (a handover links the mutex to the waiter's Rare there)
    }

    /// <summary>
    /// A take by the task that holds the mutex (or was handed it) is refused, whatever its form: at the
    /// call (<see cref="CheckWaiter"/>), and again at an await made after the task took the mutex some other way.
    /// </summary>
    private void ThrowIfHeldBy(RtTask task)
    {
        if (Owner == task)
        {
            throw new InvalidOperationException(RecursionMessage(task));
        }
    }

    private string RecursionMessage(RtTask task) =>
        $"Task '{task.Name}' (id {task.Id}) already holds RtMutex '{Name}': an RtMutex is not recursive, and every way of taking it (LockAsync, TryLock, WaitAsync, WaitUntilAsync) refuses the task that holds it; unlock it first.";

    /// <summary>
    /// The fast path: takes the mutex if it is free (one CAS, no PI lock); else, when an unlock handed
    /// it to a waiter of lower priority that has not run since, steals it under the PI lock.
    /// </summary>
    internal override bool TryTakeNow(RtTask task)
    {
        object? state = Interlocked.CompareExchange(ref _state, task, null);
        if (state is null)
        {
            Took(task);
            return true;
        }

        ThrowIfHeldBy(task); // off the fast path: an awaitable awaited after its task took the mutex
        return state == Contended && Volatile.Read(ref _pending) is { } pending && LockRules.Steals(task.Prio, pending.Prio) && TryStealNow(task); // the top waiter's priority is checked under the PI lock
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private bool TryStealNow(RtTask task)
    {
        using (Gate.EnterScope())
        {
            return TryStealLocked(task);
        }
    }

    /// <summary>
    /// <c>try_to_take_rt_mutex</c>'s steal (PI lock held): when the mutex was handed to a waiter that has
    /// not run since and <paramref name="task"/> outranks it (<see cref="LockRules.Steals"/>), the mutex
    /// becomes <paramref name="task"/>'s and the robbed waiter is listed again at the head of its
    /// priority, where its claim, when it runs, finds it and blocks it again (<see cref="ClaimOrReblock"/>).
    /// A pending owner whose effective priority depends on what this mutex's waiters lend it (one of them
    /// rose above it meanwhile) is not robbed: listed again, it would keep that loan, which only its CPU
    /// can take back, and stand above the waiter that lent it (review helper-96: it then got the mutex
    /// first). A loan at or below its own priority (a lower waiter still listed, the usual case after a
    /// handover) changes nothing and does not stop a steal (review helper-152: any loan did, so a higher
    /// locker waited for the handed waiter's section, and its TryLock failed, whenever another waited).
    /// It runs at that loan and claims the mutex; the kernel, whose woken waiter is lent nothing,
    /// wakes the risen waiter instead (<c>rt_mutex_adjust_prio_chain</c> on an ownerless lock). Until that
    /// claim it is a runnable task on the list (<see cref="RtTaskRare.RobbedOf"/>): a canceller, a timer
    /// or an unlock that reaches it leaves the waking to its claim. The rule compares with the top
    /// waiter too, whose priority may have risen above the robbed waiter's meanwhile (the kernel steals
    /// against the top of the waiters' tree, where its woken waiter still is), and with the boost the
    /// pending owner already has under this lock, which its <c>Prio</c> takes only under its CPU's lock
    /// (review helper-99: a lower task stole it from an owner lent 50 by another mutex's waiter).
    /// </summary>
    private bool TryStealLocked(RtTask task)
    {
        // A pending owner that ended is given up by Abandon, which clears its BlockedOn under this lock
        // and returns the grant after it: not stolen meanwhile (it would be listed again, dead).
        if (_state != Contended || _pending is not { } robbed || robbed == task || robbed.BlockedOn != this
            || !LockRules.Steals(task.Prio, Math.Max(Math.Max(robbed.Prio, robbed.Rare.MutexBoost), HeadLocked?.Prio ?? 0), lateral: false)
            || Math.Max(robbed.NormalPrio, BoostWithoutLocked(robbed)) < robbed.Rare.MutexBoost)
        {
            return false;
        }

        _pending = null;
        robbed.Rare.RobbedOf = this; // listed again while runnable: no canceller, timer or unlock wakes it (its count never had the mutex: only a claim counts a handover)
        UnlinkHeldLocked(robbed);
        if (RecomputeBoostLocked(robbed))
        {
            // It was lent no more than its own priority by this mutex's waiters (the rule above), so its
            // effective priority stays; the loan ends here, not left to outlive a later drop of its own
            // priority. A request, for whoever holds it next (it is runnable: its enqueue, or its claim's step end).
            RtScheduler.RequestRecompute(robbed);
        }

        InsertFirstOfPrioLocked(robbed); // its BlockedOn is still this mutex: granted, it never resumed
        Volatile.Write(ref _owner, task);
        LinkHeldLocked(task);
        Took(task);
        _ = RecomputeBoostLocked(task); // lent at most the top waiter's priority, below its own: its effective priority stays
        _steals++;
        return true;
    }

    /// <summary>
    /// <c>rt_mutex_slowlock_block</c>'s <c>try_to_take_rt_mutex</c> for a waiter an unlock handed the
    /// mutex to, as it next runs (its step, before its continuation; on its CPU thread): true when its
    /// wait is over (it holds the mutex, or its wait ended by a cancel or a timeout), false when a task
    /// of higher priority stole the mutex first and it is listed again: it blocks again, its
    /// continuation kept for the next handover. A cancel or a timeout that came since its wakeup (the
    /// mutex pending for it, or robbed and runnable: no remover took it off the list) ends its wait
    /// now, as the kernel's loop checks them after a failed take.
    /// </summary>
    internal bool ClaimOrReblock(RtTask task)
    {
        RtTask? boosted = null;
        using (Gate.EnterScope())
        {
            RtTaskRare rare = task.Rare;
            bool missed = rare.WaitEndMissed;
            rare.WaitEndMissed = false;
            rare.RobbedOf = null; // from here on a listed waiter is asleep again, or gone
            if (_pending == task)
            {
                _pending = null;
                rare.MutexesHeld++; // the handover is counted here, on the task's own thread (as lockdep's held locks are only ever the current task's)
                if (HeadLocked is null)
                {
                    // Nobody waits: uncontended again, its unlock a CAS.
                    UnlinkHeldLocked(task);
                    Volatile.Write(ref _state, task);
                    Volatile.Write(ref _owner, null); // after the state: never null while Contended (Owner)
                }

                return true;
            }

            if (!IsListedLocked(task))
            {
                return true; // it holds the mutex (taken at once, or claimed before), or a cancel or a timeout took it off the list
            }

            if (task.CancelFlag == 0 && !missed)
            {
                // Robbed: it waits on. Set under the gate, so that a handover to it, which writes it
                // after this gate, is never undone.
                task.ContinuationReady = false;
                return false;
            }

            _ = RemoveListedLocked(task);
            task.BlockedOn = null;
            if (task.CancelFlag != 0)
            {
                task.WaitCancelled = true;
            }
            else
            {
                rare.WaitTimedOut = true;
            }

            boosted = WaitersChangedLocked();
        }

        if (boosted is not null)
        {
            boosted.Scheduler.PostBoost(boosted, direct: true); // its CPU thread, in its step, holds no CPU's lock
        }

        return true;
    }

    /// <summary>
    /// A cancel or a timeout did not take <paramref name="task"/> off the list (PI lock held): the mutex
    /// is pending for it, or it was robbed and has not run since. Its claim decides: it takes the mutex
    /// (handed to it, it holds it, as the kernel's woken waiter takes the lock before it looks at a
    /// signal or a timeout), or its wait ends then.
    /// </summary>
    private protected override void MissedRemovalLocked(RtTask task)
    {
        if (_pending == task || IsRunnableWaiterLocked(task))
        {
            task.Rare.WaitEndMissed = true;
        }
    }

    private protected override bool IsRunnableWaiterLocked(RtTask task) => task.RareOrNull?.RobbedOf == this;

    /// <summary>
    /// The block's take, under the PI lock: the mutex if it is free; else it is marked contended (its
    /// owner found, linked to the owner's held mutexes), so that the waiter about to be listed is seen
    /// by the owner's unlock, which then takes the slow path.
    /// </summary>
    private protected override bool TryTakeLocked(RtTask task)
    {
        while (true)
        {
            object? state = Volatile.Read(ref _state);
            if (state is null)
            {
                if (Interlocked.CompareExchange(ref _state, task, null) is null)
                {
                    Took(task);
                    return true;
                }
            }
            else if (state == Contended)
            {
                return TryStealLocked(task);
            }
            else
            {
                var owner = (RtTask)state;
                _owner = owner;
                if (Interlocked.CompareExchange(ref _state, Contended, owner) == owner)
                {
                    LinkHeldLocked(owner);
                    return false;
                }
            }
        }
    }

    /// <summary>The acquisition number of the hold the task that owns it has (read by that task).</summary>
    internal int Taken => Volatile.Read(ref _taken);

    private protected override RtTask? WaitersChangedLocked() =>
        _state == Contended && RecomputeBoostLocked(_owner!) ? _owner : null;

    private void Took(RtTask task)
    {
        Volatile.Write(ref _taken, _taken + 1); // only the owner writes it while it holds the mutex
        task.Rare.MutexesHeld++;
    }

    private protected override void ReturnGrant(RtTask task) => Release(task, taken: null); // granted, it ended before it resumed: the next waiter's

    /// <summary>
    /// rt_mutex's deadlock detection, under the PI lock: following the owner of this mutex to the lock
    /// it waits for (an RtMutex it is listed on, or a local lock), that one's owner, and so on
    /// (<see cref="LockChain"/>); if the chain comes back to <paramref name="task"/>, its wait would
    /// never end. Only listed RtMutex waits are links (a granted or cancelled one is not).
    /// </summary>
    private protected override string? RefuseWaitLocked(RtTask task)
    {
        if (_owner == task) // a backstop: the call and the await's first try refuse it (ThrowIfHeldBy); contended, TryTakeLocked made it so
        {
            return RecursionMessage(task);
        }

        // Nothing is allocated under the PI lock unless the chain comes back (then it is described).
        return _owner is { } owner && LockChain.ComesBackLocked(owner, task)
            ? $"BUG: circular locking deadlock detected: {task.Name}/{task.Id} would wait for {LockChain.Describe(Name, owner, task)}"
            : null;
    }

    /// <summary>The owner of this mutex when <paramref name="waiter"/> is listed on it (PI lock held; a listed waiter's mutex is contended), else null: a chain's next link.</summary>
    internal RtTask? ListedOwnerLocked(RtTask waiter) => IsListedLocked(waiter) ? _owner : null;

    /// <summary>The boost <paramref name="task"/> would have without this mutex's waiters (PI lock held).</summary>
    private int BoostWithoutLocked(RtTask task)
    {
        int boost = 0;
        for (RtMutex? m = task.Rare.HeldMutexes; m is not null; m = m.NextHeld)
        {
            if (m != this && m.HeadLocked is { } top)
            {
                boost = Math.Max(boost, top.Prio);
            }
        }

        return boost;
    }

    /// <summary>Sets <paramref name="task"/>'s <see cref="RtTaskRare.MutexBoost"/> from the mutexes it holds (PI lock held); true when it changed.</summary>
    private static bool RecomputeBoostLocked(RtTask task)
    {
        RtTaskRare rare = task.Rare;
        int boost = 0;
        for (RtMutex? m = rare.HeldMutexes; m is not null; m = m.NextHeld)
        {
            if (m.HeadLocked is { } top)
            {
                boost = Math.Max(boost, top.Prio);
            }
        }

        if (boost == rare.MutexBoost)
        {
            return false;
        }

        Volatile.Write(ref rare.MutexBoost, boost);
        return true;
    }

    private void LinkHeldLocked(RtTask task)
    {
        RtTaskRare rare = task.Rare;
        NextHeld = rare.HeldMutexes;
        rare.HeldMutexes = this;
    }

    private void UnlinkHeldLocked(RtTask task)
    {
        RtTaskRare rare = task.Rare;
        if (rare.HeldMutexes == this)
        {
            rare.HeldMutexes = NextHeld;
        }
        else
        {
            RtMutex prev = rare.HeldMutexes!;
            while (prev.NextHeld != this)
            {
                prev = prev.NextHeld!;
            }

            prev.NextHeld = NextHeld;
        }

        NextHeld = null;
    }
}
