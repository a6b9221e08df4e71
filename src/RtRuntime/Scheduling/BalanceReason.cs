namespace RtRuntime.Scheduling;

/// <summary>Why the rebalancer was woken (events sent through its channel).</summary>
internal enum BalanceReason
{
    /// <summary>A runnable task queued behind a higher-priority running task (rt_overloaded).</summary>
    Overloaded = 0,

    /// <summary>A migrate-disabled task was preempted: a pile-up may be forming.</summary>
    PinnedPreempted = 1,

    /// <summary>A task's affinity changed.</summary>
    AffinityChanged = 2,

    /// <summary>A CPU went offline or online.</summary>
    Hotplug = 3,
}
