using System.Runtime.CompilerServices;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.PerCpu;

/// <summary>
/// One CPU's instance of a <see cref="LocalLock"/> in the Rt model: the per-CPU sleeping lock (an
/// rt_mutex-based spinlock_t). Owner and waiters are all tasks pinned to that CPU, so the owner only
/// ever changes on that CPU's thread (no atomics on the uncontended path); the waiter list is guarded
/// by the CPU's run-queue lock, which priority inheritance needs anyway. Waiters are kept in priority
/// order (highest first, FIFO within a priority) and the lock is handed over in that order.
/// </summary>
internal sealed class LocalLockState(LocalLock owner, Cpu cpu) : IWaitSource
{
    public LocalLock Lock { get; } = owner;

    public Cpu Cpu { get; } = cpu;

    /// <summary>The task holding this CPU's lock, or null (guarded by <see cref="Cpu"/>'s lock).</summary>
    /// <summary>The holder in the Rt model (null when free). Written only on this CPU's thread.</summary>
    public RtTask? Owner;

    /// <summary>1 while held in the NonRt model, whose holder is this CPU's running task (it is preempt-disabled).</summary>
    public int HeldNonRt;

    /// <summary>True when <paramref name="task"/>, this CPU's running task, holds the lock.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsHeldBy(RtTask task) => Lock.NonRt ? HeldNonRt != 0 : Owner == task;

    /// <summary>The holder, for snapshots and messages (racy).</summary>
    public RtTask? OwnerSnapshot => Lock.NonRt
        ? (Volatile.Read(ref HeldNonRt) != 0 ? Cpu.Running : null)
        : Volatile.Read(ref Owner);

    private WaiterList _waiters;

#pragma warning disable CS0169, IDE0051 // never read: it keeps the next CPU's instance off these cache lines
    private readonly CacheLinePadding _padding;
#pragma warning restore CS0169, IDE0051

    /// <summary>The highest waiter's priority, or −1 (lock held).</summary>
    public int TopWaiterPrio => _waiters.Head?.Prio ?? -1;

    /// <summary>True when a task waits for this lock (racy off the lock, exact for this CPU's own thread: only it adds waiters).</summary>
    public bool HasWaiters => _waiters.Head is not null;

    /// <summary>Adds a waiter in priority order (lock held).</summary>
    public void AddWaiterLocked(RtTask task)
    {
        if (_waiters.Head is null)
        {
            Cpu.ContendedLocks.Add(this);
        }

        _waiters.Insert(task);
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

    private void LeaveContendedIfEmpty()
    {
        if (_waiters.Head is null)
        {
            Cpu.ContendedLocks.Remove(this);
        }
    }

    /// <summary>Cancellation of a waiter: take it off the list and let the owner's boost drop.</summary>
    public bool TryRemove(RtTask task)
    {
        using (Cpu.Lock.EnterScope())
        {
            if (task.BlockedOn != this || !RemoveWaiterLocked(task))
            {
                return false;
            }

            if (Owner is { } owner)
            {
                RtScheduler.RecomputePrioLocked(Cpu, owner);
            }

            return true;
        }
    }
}
