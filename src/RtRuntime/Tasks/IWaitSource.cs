namespace RtRuntime.Tasks;

/// <summary>Something a task can block on (a timer, a wait queue), from which a cancellation can take it back.</summary>
internal interface IWaitSource
{
    /// <summary>Removes the task if it still waits here; returns true when it did (the caller then owns the wakeup).</summary>
    bool TryRemove(RtTask task);

    /// <summary>
    /// The task ended while it waited here, or after it was granted what it waited for but before the
    /// waiting flow resumed to take it: remove it, and give a grant it will never take back to the
    /// next waiter (a permit, an auto-reset signal), so that nothing is lost to a dead task.
    /// </summary>
    void Abandon(RtTask task);
}
