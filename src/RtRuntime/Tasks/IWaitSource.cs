namespace RtRuntime.Tasks;

/// <summary>Something a task can block on (a timer, a wait queue), from which a cancellation can take it back.</summary>
internal interface IWaitSource
{
    /// <summary>
    /// Removes the task if it still waits here; returns true when it did (the caller then owns the
    /// wakeup). <paramref name="boosted"/>: the owner of a priority-inheritance lock whose boost the
    /// task's leaving dropped (an RtMutex's owner, or one a local lock's owner waits for), for the caller
    /// to tell (<see cref="RtScheduler.PostBoost"/>) once it holds no CPU's lock; null when none.
    /// </summary>
    bool TryRemove(RtTask task, out RtTask? boosted);

    /// <summary>
    /// The task ended while it waited here, or after it was granted what it waited for but before the
    /// waiting flow resumed to take it: remove it, and give a grant it will never take back to the
    /// next waiter (a permit, an auto-reset signal), so that nothing is lost to a dead task. Returns
    /// the owner whose boost its leaving dropped, as <see cref="TryRemove"/>'s <c>boosted</c>.
    /// </summary>
    RtTask? Abandon(RtTask task);
}
