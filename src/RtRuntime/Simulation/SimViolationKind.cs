namespace RtRuntime.Simulation;

/// <summary>Which invariant a <see cref="SimViolation"/> broke.</summary>
public enum SimViolationKind
{
    /// <summary>A live task is in no place, or in more than one (running, queued, blocked).</summary>
    TaskLostOrDuplicated = 0,

    /// <summary>The system reported itself balanced, yet a waiting task could run on a CPU running lower priority.</summary>
    NotHighest = 1,

    /// <summary>A migrate-disabled (pinned) task changed CPU.</summary>
    PinnedTaskMoved = 2,

    /// <summary>A preempt-disabled task was switched out.</summary>
    PreemptDisabledSwitchedOut = 3,

    /// <summary>
    /// An RtMutex's owner runs below its top waiter (no boost due is waiting for the owner's next point),
    /// or its waiters are out of priority order.
    /// </summary>
    PriorityNotInherited = 4,
}
