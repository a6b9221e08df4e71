namespace RtRuntime.Scheduling;

/// <summary>Why the rebalancer was woken (events sent through its channel).</summary>
internal enum BalanceReason
{
    /// <summary>A migrate-disabled task was preempted: a pile-up may be forming.</summary>
    PinnedPreempted = 0,

    /// <summary>A task's affinity changed.</summary>
    AffinityChanged = 1,

    /// <summary>A CPU went offline or online.</summary>
    Hotplug = 2,

    /// <summary>A running task lowered its priority (prio_changed_rt's pull): a task waiting elsewhere may now run on its CPU.</summary>
    PriorityDropped = 3,
}
