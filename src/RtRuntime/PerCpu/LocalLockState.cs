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

    private WaiterList _waiters;

    /// <summary>The highest waiter's priority, or −1 (lock held).</summary>
    public int TopWaiterPrio => _waiters.Head?.Prio ?? -1;

    /// <summary>Adds a waiter in priority order (lock held).</summary>
    public void AddWaiterLocked(RtTask task) => _waiters.Insert(task);

    /// <summary>Removes a waiter (lock held); false when it does not wait here.</summary>
    public bool RemoveWaiterLocked(RtTask task) => _waiters.Remove(task);

    /// <summary>Removes and returns the highest waiter (lock held), or null.</summary>
    public RtTask? PopWaiterLocked() => _waiters.Pop();

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
