using RtRuntime.PerCpu;

namespace RtRuntime.Tasks;

/// <summary>
/// rt_mutex's deadlock detection across both kinds of priority-inheritance lock: from an owner, the
/// lock it waits for (an <see cref="RtMutex"/> it is listed on, or a <see cref="LocalLock"/> instance
/// in the Rt model) and that lock's owner, and so on. Walked under the runtime's PI lock
/// (<see cref="RtScheduler.PiLock"/>), which orders every RtMutex link; a local lock's owner and its
/// waiters' links are written under that lock's CPU lock (a cancelled waiter's too), on that CPU's
/// thread but for a cancellation, and that thread takes the PI lock before any RtMutex wait of its
/// own, so a link read here is either current or one that thread has not yet left for an RtMutex
/// wait: a cycle read here exists. Every wait's walk is atomic with the publication of its own link:
/// an RtMutex wait walks and lists under the PI lock; a local lock's wait walks at its block, under its
/// CPU's lock, and a walk that leaves the CPU publishes the link before releasing the PI lock. Of two
/// waits that close a cycle at once on two CPUs, the second sees the first's link.
/// </summary>
internal static class LockChain
{
    /// <summary>
    /// Longer chains are not followed (the kernel's <c>max_lock_depth</c>): a walk holds the runtime's PI
    /// lock, which every RtMutex slow path on every CPU needs, so its length is bounded.
    /// </summary>
    private const int MaxDepth = RtScheduler.MaxLockDepth;

    /// <summary>The owner of the lock <paramref name="owner"/> waits for, or null when it waits for none (PI lock held).</summary>
    internal static RtTask? NextOwnerLocked(RtTask owner) => Volatile.Read(ref owner.BlockedOn) switch
    {
        RtMutex mutex => mutex.ListedOwnerLocked(owner),
        LocalLockState local => Volatile.Read(ref local.Owner) is { } next && next != owner ? next : null, // handed to it, not claimed yet: no link
        _ => null,
    };

    /// <summary>True when the owners followed from <paramref name="owner"/> come back to <paramref name="task"/> (PI lock held).</summary>
    internal static bool ComesBackLocked(RtTask? owner, RtTask task)
    {
        for (int depth = 0; owner is not null && depth <= MaxDepth; depth++)
        {
            if (owner == task)
            {
                return true;
            }

            owner = NextOwnerLocked(owner);
        }

        return false;
    }

    /// <summary>
    /// "m1 held by t2/5, which waits for cpu0's ll held by t1/4": the chain from <paramref name="firstLock"/>,
    /// held by <paramref name="owner"/>, back to <paramref name="task"/> (PI lock held).
    /// </summary>
    internal static string Describe(string firstLock, RtTask owner, RtTask task)
    {
        var links = new List<string>();
        string lockName = firstLock;
        for (RtTask? o = owner; o is not null && links.Count <= MaxDepth; o = NextOwnerLocked(o))
        {
            links.Add($"{lockName} held by {o.Name}/{o.Id}");
            if (o == task)
            {
                break;
            }

            lockName = NameOf(Volatile.Read(ref o.BlockedOn));
        }

        return string.Join(", which waits for ", links);
    }

    /// <summary>A lock as messages name it: an RtMutex's name, or "cpu0's name" for a local lock's instance.</summary>
    internal static string NameOf(IWaitSource? lockOrQueue) => lockOrQueue switch
    {
        RtMutex mutex => mutex.Name,
        LocalLockState local => $"cpu{local.Cpu.Id}'s {local.Lock.Name}",
        _ => "?",
    };
}
