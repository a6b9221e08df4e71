using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.PerCpu;

/// <summary>
/// One CPU's instance of a <see cref="LocalLock"/> in the Rt model: the per-CPU sleeping lock (an
/// rt_mutex-based spinlock_t). Owner and waiters are all tasks pinned to that CPU, so its state is
/// guarded by the CPU's run-queue lock, which priority inheritance needs anyway. Waiters are kept
/// in priority order (highest first, FIFO within a priority) and the lock is handed over in that order.
/// </summary>
internal sealed class LocalLockState(LocalLock owner, Cpu cpu) : IWaitSource
{
    public LocalLock Lock { get; } = owner;

    public Cpu Cpu { get; } = cpu;

    /// <summary>The task holding this CPU's lock, or null (guarded by <see cref="Cpu"/>'s lock).</summary>
    public RtTask? Owner;

    private RtTask? _head;

    /// <summary>The highest waiter's priority, or −1 (lock held).</summary>
    public int TopWaiterPrio => _head?.Prio ?? -1;

    /// <summary>Adds a waiter in priority order (lock held).</summary>
    public void AddWaiterLocked(RtTask task)
    {
        RtTask? prev = null;
        RtTask? cur = _head;
        while (cur is not null && cur.Prio >= task.Prio)
        {
            prev = cur;
            cur = cur.WaitNext;
        }

        task.WaitPrev = prev;
        task.WaitNext = cur;
        if (prev is null)
        {
            _head = task;
        }
        else
        {
            prev.WaitNext = task;
        }

        if (cur is not null)
        {
            cur.WaitPrev = task;
        }
    }

    /// <summary>Removes a waiter (lock held); false when it does not wait here.</summary>
    public bool RemoveWaiterLocked(RtTask task)
    {
        if (task.WaitPrev is null && _head != task)
        {
            return false;
        }

        if (task.WaitPrev is { } prev)
        {
            prev.WaitNext = task.WaitNext;
        }
        else
        {
            _head = task.WaitNext;
        }

        if (task.WaitNext is { } next)
        {
            next.WaitPrev = task.WaitPrev;
        }

        task.WaitNext = task.WaitPrev = null;
        return true;
    }

    /// <summary>Removes and returns the highest waiter (lock held), or null.</summary>
    public RtTask? PopWaiterLocked()
    {
        RtTask? task = _head;
        if (task is not null)
        {
            RemoveWaiterLocked(task);
        }

        return task;
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
