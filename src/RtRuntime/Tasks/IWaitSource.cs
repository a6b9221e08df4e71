namespace RtRuntime.Tasks;

/// <summary>Something a task can block on (a timer, a wait queue), from which a cancellation can take it back.</summary>
internal interface IWaitSource
{
    /// <summary>Removes the task if it still waits here; returns true when it did (the caller then owns the wakeup).</summary>
    bool TryRemove(RtTask task);
}
