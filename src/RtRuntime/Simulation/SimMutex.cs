namespace RtRuntime.Simulation;

/// <summary>
/// A simulated <c>rt_mutex</c> (the threaded <c>RtMutex</c>, or one CPU's instance of a
/// <c>LocalLock</c> under the Rt model): its owner and its waiters, sorted by effective priority
/// (highest first, FIFO among equals), whose top one boosts the owner.
/// </summary>
internal sealed class SimMutex
{
    public SimMutex(string name, int cpu = -1)
    {
        Name = name;
        Cpu = cpu;
        Waiters = new SimWaitQueue(name);
    }

    public string Name { get; }

    /// <summary>For one CPU's instance of a local lock, that CPU (its holder and waiters are pinned there); −1 for an RtMutex.</summary>
    public int Cpu { get; }

    /// <summary>The task holding it, or null when free.</summary>
    public SimTask? Owner;

    /// <summary>
    /// The owner an unlock handed the lock to, until it next runs (its claim): a task of higher priority
    /// (for a local lock's instance, also an equal one in the normal class) that locks it meanwhile
    /// steals it (<c>rt_mutex_steal</c>); null otherwise.
    /// </summary>
    public SimTask? Pending;

    /// <summary>Steals so far (the threaded <c>RtMutex.StealCount</c>).</summary>
    public long Steals;

    /// <summary>The tasks blocked on it (<see cref="SimWaitQueue.Count"/> is unused).</summary>
    public SimWaitQueue Waiters { get; }

    /// <summary>The priority this mutex lends its owner (its top waiter's), or 0 without waiters.</summary>
    public int TopWaiterPrio => Waiters.Waiters.Count > 0 ? Waiters.Waiters[0].Prio : 0;

    public override string ToString() => Name;
}
