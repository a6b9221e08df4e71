using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.PerCpu;

/// <summary>
/// One CPU's instance of a <see cref="LocalLock"/>. In the Rt model it is the per-CPU sleeping lock (an
/// rt_mutex-based spinlock_t): owner and waiters are all tasks pinned to that CPU, so the owner only
/// ever changes on that CPU's thread (no atomics on the uncontended path); the waiter list is guarded
/// by the CPU's run-queue lock, which priority inheritance needs anyway, and never looks empty while
/// it has waiters (the owner's unlock reads that without the lock). Waiters are kept in priority
/// order (highest first, FIFO within a priority) and the lock is handed over in that order. In the
/// NonRt model only the holder's id is kept.
/// </summary>
/// <remarks>
/// The fields sit between two 128-byte gaps (two cache lines each: adjacent-line prefetch pairs lines
/// on x86). Lock and unlock write them on every pair, and whatever the allocator puts next to one
/// CPU's instance (the next CPU's instance, the lock's array of instances, which every CPU reads on
/// every lock) must not share a line with them; a gap only after the fields left the array beside
/// cpu0's and doubled the pair's cost with both CPUs locking (see docs/benchmarks.md).
/// </remarks>
[StructLayout(LayoutKind.Explicit)]
internal sealed class LocalLockState : IWaitSource
{
    private const int Fields = 128;

#pragma warning disable CS0169, IDE0051 // never read: they keep other objects off these fields' cache lines
    [FieldOffset(0)]
    private readonly CacheLinePadding _before;

    [FieldOffset(Fields + 80)]
    private readonly CacheLinePadding _after;
#pragma warning restore CS0169, IDE0051

    [FieldOffset(Fields)]
    private readonly LocalLock _lock;

    [FieldOffset(Fields + 8)]
    private readonly Cpu _cpu;

    /// <summary>The holder in the Rt model (null when free). Written only on this CPU's thread.</summary>
    [FieldOffset(Fields + 16)]
    public RtTask? Owner;

    /// <summary>
    /// The holder's id in the NonRt model (0 when free; ids start at 1): a number, so lock and unlock
    /// write no GC reference. The holder is preempt-disabled, so it is this CPU's running task, unless
    /// it suspended while atomic (a reported BUG): that report resets its preempt depth and negates
    /// this id (<see cref="MarkSectionReset"/>), so the holder still keeps others out but its unlock
    /// knows the preempt-disable it took is gone. The unlock's fast path then needs no epoch.
    /// </summary>
    [FieldOffset(Fields + 24)]
    public long HolderIdNonRt;

    [FieldOffset(Fields + 32)]
    private WaiterList _waiters; // 32 bytes: head, tail, last-of-priority hints, count

    /// <summary>The lock's model, kept here so that unlock reads it without going through the lock.</summary>
    [FieldOffset(Fields + 64)]
    public readonly bool NonRt;

    /// <summary>
    /// The number of the current (or last) acquisition, counted on this CPU's thread at each take and
    /// hand-over. A guard keeps the number of its own: a guard disposed twice after its task took the
    /// lock again finds another number and throws, instead of releasing the newer hold.
    /// </summary>
    [FieldOffset(Fields + 68)]
    public int Taken;

    /// <summary>
    /// Rt model: the owner an unlock handed the lock to, until it next runs (its claim,
    /// <see cref="ClaimOrReblock"/>): a task of higher priority on this CPU (or, both in the normal
    /// class, an equal one) that locks it meanwhile steals it (<see cref="Scheduling.LockRules.Steals"/>).
    /// Under this CPU's lock.
    /// </summary>
    [FieldOffset(Fields + 72)]
    public RtTask? Pending;

    public LocalLockState(LocalLock owner, Cpu cpu)
    {
        _lock = owner;
        _cpu = cpu;
        NonRt = owner.NonRt;
    }

    public LocalLock Lock => _lock;

    public Cpu Cpu => _cpu;

    /// <summary>True when <paramref name="task"/> holds the lock.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsHeldBy(RtTask task) => NonRt ? Math.Abs(HolderIdNonRt) == task.Id : Owner == task;

    /// <summary>The holder, for snapshots and messages (racy; NonRt: null when the holder is not running, after a BUG).</summary>
    public RtTask? OwnerSnapshot => NonRt
        ? (Cpu.Running is { } running && running.Id == Math.Abs(Volatile.Read(ref HolderIdNonRt)) ? running : null)
        : Volatile.Read(ref Owner);

    /// <summary>
    /// NonRt: a "scheduling while atomic" report reset <paramref name="task"/>'s preempt depth while it
    /// holds this instance. It keeps the lock (no other task may take what it may still be changing),
    /// marked by its negated id, so that its unlock releases without lowering a depth it no longer has.
    /// </summary>
    public void MarkSectionReset(RtTask task) => Interlocked.CompareExchange(ref HolderIdNonRt, -task.Id, task.Id);

    /// <summary>The highest waiter's priority, or −1 (lock held).</summary>
    public int TopWaiterPrio => _waiters.Head?.Prio ?? -1;

    /// <summary>
    /// True when a task waits for this lock (racy off the lock, exact for this CPU's own thread: only it
    /// adds waiters), or one is leaving it (<see cref="TryRemove"/>, until the owner's boost is dropped).
    /// </summary>
    public bool HasWaiters => _waiters.HeadAcquire is not null || Volatile.Read(ref _waiterLeaving);

    // Set by TryRemove (another thread, under the CPU's lock) from before it takes a cancelled waiter off
    // the list until it has dropped the owner's boost: the owner's lock-free unlock then takes the locked
    // path and waits for that, instead of going on unlocked and still boosted (the kernel serialises both
    // on the lock's wait_lock). Set, with a full fence, before the list changes, and read after the
    // list's head (acquire): an unlock that finds the list emptied by a removal finds this set, or
    // cleared (a release) after the boost was dropped. On the line of Taken, which the unlock reads anyway.
    [FieldOffset(Fields + 65)]
    private bool _waiterLeaving;

    /// <summary>Adds a waiter in priority order (lock held).</summary>
    public void AddWaiterLocked(RtTask task)
    {
        if (_waiters.Head is null)
        {
            Cpu.ContendedLocks.Add(this);
        }

        _waiters.Insert(task, this);
    }

    /// <summary>Lists a robbed waiter again ahead of the waiters of its priority (lock held), where it was.</summary>
    public void AddWaiterFirstLocked(RtTask task)
    {
        if (_waiters.Head is null)
        {
            Cpu.ContendedLocks.Add(this);
        }

        _waiters.InsertFirstOfPrio(task);
    }

    /// <summary>True when <paramref name="task"/> is listed here (lock held).</summary>
    public bool IsListedLocked(RtTask task) => task.BlockedOn == this && _waiters.Contains(task);

    /// <summary>
    /// The claim of a waiter an unlock handed this lock to, as it next runs (its step, before its
    /// continuation; on this CPU's thread): true when its wait is over (it holds the lock, or it was
    /// cancelled), false when a task stole the lock first and it is listed again: it blocks again, its
    /// continuation kept for the next handover (<c>rt_mutex_slowlock_block</c>, as <see cref="RtMutex.ClaimOrReblock"/>).
    /// </summary>
    public bool ClaimOrReblock(RtTask task)
    {
        RtTask? boosted = null;
        using (Cpu.Lock.EnterScope())
        {
            if (task.RareOrNull is { } rare)
            {
                rare.RobbedOf = null; // from here on a listed waiter is asleep again, or gone
            }

            if (Pending == task)
            {
                Pending = null;
                task.BlockedOn = null;
                return true;
            }

            if (!IsListedLocked(task))
            {
                return true; // a cancel took it off the list (its await throws)
            }

            if (task.CancelFlag == 0)
            {
                task.ContinuationReady = false; // robbed: it waits on (a handover to it comes after this lock)
                return false;
            }

            _ = RemoveWaiterLocked(task); // cancelled while robbed (the canceller left it to this claim)
            task.BlockedOn = null;
            task.WaitCancelled = true;
            if (Owner is { } owner)
            {
                boosted = RtScheduler.RecomputePrioLockedHandingBack(Cpu, owner);
            }
        }

        if (boosted is not null)
        {
            boosted.Scheduler.PostBoost(boosted, direct: true); // this CPU's thread, in the task's step, holds no CPU's lock
        }

        return true;
    }

    /// <summary>Removes a waiter (lock held); false when it does not wait here.</summary>
    public bool RemoveWaiterLocked(RtTask task)
    {
        bool removed = _waiters.Remove(task);
        LeaveContendedIfEmpty();
        return removed;
    }

    /// <summary>Removes and returns the highest waiter (lock held), or null.</summary>
    public RtTask? PopWaiterLocked()
    {
        RtTask? next = _waiters.Pop();
        LeaveContendedIfEmpty();
        return next;
    }

    /// <summary>
    /// Moves a waiter to the place its new priority gives it (lock held), without the list ever looking
    /// empty: the owner's unlock reads "has waiters" without the lock. False when it does not wait here.
    /// </summary>
    public bool RepositionWaiterLocked(RtTask task)
    {
        if (_waiters.Head == task && task.WaitNext is null)
        {
            return true; // the only waiter: its place cannot change
        }

        if (!_waiters.Remove(task))
        {
            return false;
        }

        _waiters.Insert(task, this);
        return true;
    }

    private void LeaveContendedIfEmpty()
    {
        if (_waiters.Head is null)
        {
            Cpu.ContendedLocks.Remove(this);
        }
    }

    /// <summary>
    /// A waiter ended: it leaves the list. A handover to it made it the owner, on this CPU's thread,
    /// which is also the ending task's: the release of locks held at exit gives that back.
    /// </summary>
    public RtTask? Abandon(RtTask task)
    {
        RtTask? next = null;
        bool gaveBack = false;
        using (Cpu.Lock.EnterScope())
        {
            if (Pending == task && Owner == task)
            {
                // Handed the lock and ended before it ran (the stop may end it from its thread): the
                // handover is given back, to the next waiter, as an RtMutex grant never taken is: it
                // never held the lock (no "lock held at exit" report), and no steal can list it again
                // (review helper-97: a steal before the release of its locks handed the lock to it, dead).
                next = LocalLock.HandOverLocked(this, task);
                gaveBack = true;
            }
        }

        if (gaveBack)
        {
            if (next is not null)
            {
                task.Scheduler.TryWake(next);
            }

            return null;
        }

        return Remove(task, robbedToo: true, out RtTask? boosted) ? boosted : null;
    }

    /// <summary>
    /// Cancellation of a waiter: take it off the list and let the owner's boost drop (at once, under
    /// this CPU's lock, for the owner and any local-lock chain on this CPU; where that chain reaches a
    /// holder waiting for an RtMutex, the mutex's owner is handed back in <paramref name="boosted"/>).
    /// </summary>
    public bool TryRemove(RtTask task, out RtTask? boosted) => Remove(task, robbedToo: false, out boosted);

    /// <summary>
    /// <see cref="TryRemove"/>; <paramref name="robbedToo"/>: also a robbed waiter not run since (a task
    /// that ended), which a cancel leaves listed: it is runnable, and its claim ends its wait.
    /// </summary>
    private bool Remove(RtTask task, bool robbedToo, out RtTask? boosted)
    {
        boosted = null;
        using (Cpu.Lock.EnterScope())
        {
            // Read the owner while the lock still has this waiter: until then the owner can only release
            // through the locked slow path, so it cannot slip away unboosted (after the removal, its
            // fast path may set Owner to null at any moment).
            RtTask? owner = Volatile.Read(ref Owner);
            if (task.BlockedOn != this || (!robbedToo && task.RareOrNull?.RobbedOf == this))
            {
                return false;
            }

            Volatile.Write(ref _waiterLeaving, true);
            Interlocked.MemoryBarrier(); // before the list's head changes (a cancellation: the rare path)
            try
            {
                if (!RemoveWaiterLocked(task))
                {
                    return false;
                }

                // Cleared here, under this CPU's lock, not after the remover returns: a deadlock walk
                // (LockChain) reads this link off this CPU, and a stale one read after this lock's next
                // owner took the PI lock made a cycle out of a wait that had already ended (helper-91).
                task.BlockedOn = null;
                if (owner is not null)
                {
                    boosted = RtScheduler.RecomputePrioLockedHandingBack(Cpu, owner);
                }

                return true;
            }
            finally
            {
                Volatile.Write(ref _waiterLeaving, false);
            }
        }
    }
}
