using RtRuntime.Cpus;

namespace RtRuntime.Tasks;

/// <summary>
/// A mutex with priority inheritance for tasks on any CPU: the kernel's <c>rt_mutex</c>, on which
/// PREEMPT_RT builds <c>spinlock_t</c> and <c>mutex</c>. While a task waits for it, the owner runs at
/// least at the waiter's priority (a Normal owner joins the RT class), wherever it runs; the boost
/// follows chains (an owner waiting for another RtMutex boosts that one's owner), and ends when the
/// owner unlocks. Unlock hands the mutex to the highest waiter (FIFO within a priority: no stealing by
/// a lower task). Waiting is cancellable and may have a timeout (<see cref="RtWaitQueue.WaitAsync(TaskContext, TimeSpan)"/>);
/// a wait that would close a cycle of owners and waiters is refused and reported
/// (<see cref="BugKind.Deadlock"/>); a task that ends holding one is reported
/// (<see cref="BugKind.LockHeldAtExit"/>) and the mutex passes on.
/// </summary>
/// <remarks>
/// <para>Use it for data shared between CPUs (a <see cref="PerCpu.LocalLock"/> is the lock for per-CPU data):
/// an <see cref="RtSemaphore"/> of one permit has no owner, so a low-priority holder preempted by
/// middle-priority work keeps a high-priority waiter waiting for as long as that work runs (unbounded
/// priority inversion); here the holder runs at the waiter's priority until it unlocks.</para>
/// <para>Every RtMutex of a runtime shares one PI lock (the kernel has one per mutex and per task): its
/// lock, unlock and chain steps hold it for a few writes. A boost reaches a running owner at its next
/// preemption point, as a priority set from another thread does (<see cref="RtScheduler.SetPriority"/>).</para>
/// </remarks>
public sealed class RtMutex : RtWaitQueue
{
    private readonly RtScheduler _runtime;
    private RtTask? _owner; // under the PI lock
    private int _taken; // acquisitions, under the PI lock: tells a guard's hold from a later one

    /// <summary>The next mutex its owner holds (<see cref="RtTaskRare.HeldMutexes"/>), under the PI lock.</summary>
    internal RtMutex? NextHeld;

    /// <summary>Creates a mutex for the tasks of <paramref name="runtime"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="runtime"/> is null.</exception>
    public RtMutex(RtScheduler runtime, string? name = null)
        : base((runtime ?? throw new ArgumentNullException(nameof(runtime))).PiLock)
    {
        _runtime = runtime;
        Name = name ?? "rt_mutex";
    }

    /// <summary>The name in messages and reports.</summary>
    public string Name { get; }

    /// <summary>The task holding it now, or null (a snapshot).</summary>
    public RtTask? Owner => Volatile.Read(ref _owner);

    /// <summary>
    /// <c>rt_mutex_lock()</c>: takes the mutex, waiting (boosting its owner) while another task holds it;
    /// the await gives a guard whose disposal unlocks. Equivalent to <see cref="RtWaitQueue.WaitAsync(TaskContext)"/>
    /// followed by <see cref="Unlock"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The context is used off its CPU, or the task is
    /// preempt-disabled (scheduling while atomic); from the await: the task already holds it (it is not
    /// recursive), or its wait would close a deadlock (reported; nothing is taken).</exception>
    /// <exception cref="OperationCanceledException">The task was cancelled while waiting (thrown by the await).</exception>
    /// <exception cref="ArgumentException"><paramref name="context"/> is a default value (no task's context), or its task belongs to another runtime.</exception>
    public RtMutexAwaitable LockAsync(TaskContext context)
    {
        RtTask task = context.CurrentTaskOf(nameof(context));
        CheckWaiter(task);
        _runtime.ThrowIfAtomic(task, "Lock");
        return new RtMutexAwaitable(this, task);
    }

    /// <summary><c>rt_mutex_trylock()</c>: takes it at once if it is free; false, with nothing taken, when held (by this task too).</summary>
    /// <exception cref="InvalidOperationException">The context is used off its CPU.</exception>
    /// <exception cref="ArgumentException"><paramref name="context"/> is a default value (no task's context), or its task belongs to another runtime.</exception>
    public bool TryLock(TaskContext context, out RtMutexGuard guard)
    {
        RtTask task = context.CurrentTaskOf(nameof(context));
        CheckWaiter(task);
        using (Gate.EnterScope())
        {
            if (TryTakeLocked(task))
            {
                guard = new RtMutexGuard(this, task, _taken);
                return true;
            }
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
        RtTask? next;
        bool ownerBoostChanged;
        bool nextBoostChanged = false;
        using (Gate.EnterScope())
        {
            if (_owner != task || (taken is { } t && t != _taken))
            {
                return false;
            }

            UnlinkHeldLocked(task);
            ownerBoostChanged = RecomputeBoostLocked(task);
            next = PopLocked();
            Volatile.Write(ref _owner, next);
            if (next is not null)
            {
                _taken++;
                LinkHeldLocked(next);
                nextBoostChanged = RecomputeBoostLocked(next); // the waiters it passed now wait for it
            }
        }

        if (next is not null)
        {
            if (nextBoostChanged)
            {
                RtScheduler.RequestRecompute(next); // granted and not yet woken: its wakeup's enqueue applies it
            }

            Grant(next);
        }

        // Its effective priority may still carry a boost that ended before (a waiter that left while it
        // ran posts the drop for its next preemption point, which has not come yet).
        if ((ownerBoostChanged || task.Prio != task.NormalPrio) && task.IsCurrent)
        {
            _runtime.Deboost(task);
        }

        return true;
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
    }

    private protected override bool TryTakeLocked(RtTask task)
    {
        if (_owner is not null)
        {
            return false; // a free mutex has no waiters: an unlock hands it to the top one
        }

        Volatile.Write(ref _owner, task);
        _taken++;
        LinkHeldLocked(task);
        return true;
    }

    /// <summary>The acquisition number of the hold <see cref="TryTakeLocked"/> or a grant just gave (under the PI lock).</summary>
    internal int TakenLocked => _taken;

    /// <summary>The PI lock (<see cref="RtScheduler.PiLock"/>), for the awaiter's guard.</summary>
    internal RawSpinLock PiGate => Gate;

    private protected override RtTask? WaitersChangedLocked() =>
        _owner is { } owner && RecomputeBoostLocked(owner) ? owner : null;

    private protected override void ReturnGrant(RtTask task) => Release(task, taken: null); // granted, it ended before it resumed: the next waiter's

    /// <summary>
    /// rt_mutex's deadlock detection, under the PI lock: following the owner of this mutex to the mutex
    /// it waits for (listed there), that one's owner, and so on; if the chain comes back to
    /// <paramref name="task"/>, its wait would never end. Only listed waits are links (a granted or
    /// cancelled one is not), so a chain read here is one that exists.
    /// </summary>
    private protected override string? RefuseWaitLocked(RtTask task)
    {
        if (_owner == task)
        {
            return $"Task '{task.Name}' already holds {Name}: an RtMutex is not recursive.";
        }

        var links = new List<string>();
        RtTask? owner = _owner;
        RtMutex mutex = this;
        while (owner is not null)
        {
            links.Add($"{mutex.Name} held by {owner.Name}/{owner.Id}");
            if (owner == task)
            {
                return $"BUG: circular locking deadlock detected: {task.Name}/{task.Id} would wait for {string.Join(", which waits for ", links)}";
            }

            if (Volatile.Read(ref owner.BlockedOn) is not RtMutex next || !next.IsListedLocked(owner) || links.Count > 100_000)
            {
                return null;
            }

            mutex = next;
            owner = next._owner;
        }

        return null;
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
