namespace RtRuntime.Simulation;

/// <summary>
/// A simulated <c>rt_mutex</c> (the threaded <c>RtMutex</c>): its owner and its waiters, sorted by
/// effective priority (highest first, FIFO among equals), whose top one boosts the owner.
/// </summary>
internal sealed class SimMutex
{
    public SimMutex(string name)
    {
        Name = name;
        Waiters = new SimWaitQueue(name);
    }

    public string Name { get; }

    /// <summary>The task holding it, or null when free.</summary>
    public SimTask? Owner;

    /// <summary>The tasks blocked on it (<see cref="SimWaitQueue.Count"/> is unused).</summary>
    public SimWaitQueue Waiters { get; }

    /// <summary>The priority this mutex lends its owner (its top waiter's), or 0 without waiters.</summary>
    public int TopWaiterPrio => Waiters.Waiters.Count > 0 ? Waiters.Waiters[0].Prio : 0;

    public override string ToString() => Name;
}
