namespace RtRuntime.Stress;

/// <summary>The kinds of step in a mixed-scenario task script.</summary>
internal enum MixedOpKind
{
    Work,
    Point,
    Yield,
    Sleep,
    TimedWait,
    MigrateSection,
    PreemptSection,
    Throw,

    /// <summary>A section under the run's <see cref="PerCpu.LocalLock"/> (priority inheritance in the Rt model).</summary>
    LockSection,

    /// <summary><see cref="Tasks.TaskContext.SetPriority"/> to <see cref="MixedOp.Ns"/> (FIFO and RR tasks only).</summary>
    SetPriority,

    /// <summary>A section under the run's <see cref="Tasks.RtMutex"/> (priority inheritance across CPUs), at a script's top level.</summary>
    MutexSection,
}
