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

    /// <summary>
    /// A running task set its own priority: a drop may let a task waiting on another CPU run on its CPU
    /// (prio_changed_rt's pull); a raise above a task queued to run next on its CPU leaves that task to
    /// be pushed to another CPU.
    /// </summary>
    PriorityChanged = 3,

    /// <summary>
    /// An <see cref="Tasks.RtMutex"/> owner's boost changed where its waiter's CPU lock was held: the new
    /// effective priority is applied from here (<see cref="RtScheduler.ApplyPostedBoosts"/>).
    /// </summary>
    PriorityInheritance = 4,
}
