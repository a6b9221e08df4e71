namespace RtRuntime.Simulation;

/// <summary>A counting event: waiters sorted by priority (highest first, FIFO among equals); a signal with no waiter is counted.</summary>
internal sealed class SimWaitQueue
{
    public SimWaitQueue(string name) => Name = name;

    public string Name { get; }

    public List<SimTask> Waiters { get; } = [];

    public long Count;

    public void Add(SimTask task)
    {
        int i = 0;
        while (i < Waiters.Count && Waiters[i].Prio >= task.Prio)
        {
            i++;
        }

        Waiters.Insert(i, task);
    }

    /// <summary>Adds a waiter ahead of the waiters of its priority (a robbed RtMutex waiter, back where it was).</summary>
    public void AddFirstOfPrio(SimTask task)
    {
        int i = 0;
        while (i < Waiters.Count && Waiters[i].Prio > task.Prio)
        {
            i++;
        }

        Waiters.Insert(i, task);
    }
}
