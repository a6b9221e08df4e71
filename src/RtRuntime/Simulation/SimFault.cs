namespace RtRuntime.Simulation;

/// <summary>Faults the simulator can inject into itself (once) so tests can check the invariant checker.</summary>
internal enum SimFault
{
    None = 0,

    /// <summary>The first task to block is forgotten (it is in no place).</summary>
    LoseBlockedTask = 1,

    /// <summary>The first preempted task is also left on another CPU's queue.</summary>
    DuplicatePreemptedTask = 2,

    /// <summary>The first migrate-disabled task to be preempted is requeued on another CPU.</summary>
    MovePinnedTask = 3,

    /// <summary>The first preemption point ignores a preempt-disable depth.</summary>
    SwitchOutPreemptDisabled = 4,

    /// <summary>Pulls, pushes and placement never move work (N-highest breaks).</summary>
    NoBalancing = 5,

    /// <summary>The first RtMutex wait lends its owner nothing (priority inheritance breaks).</summary>
    NoPriorityInheritance = 6,
}
