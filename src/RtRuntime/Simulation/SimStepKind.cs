namespace RtRuntime.Simulation;

/// <summary>What one step of a simulated task's script does.</summary>
public enum SimStepKind
{
    /// <summary>Compute for <see cref="SimStep.DurationUs"/> µs of virtual time, with a preemption point at the end (and every <see cref="SimStep.EveryUs"/> µs when set).</summary>
    Run = 0,

    /// <summary>A preemption point (<c>cond_resched()</c>): switch if a higher priority waits here or the stopper has work.</summary>
    PreemptionPoint = 1,

    /// <summary><c>sched_yield()</c>: requeue at the tail of its priority and reschedule.</summary>
    Yield = 2,

    /// <summary><c>preempt_disable()</c>: depth + 1; no switch while the depth is above 0.</summary>
    PreemptDisable = 3,

    /// <summary><c>preempt_enable()</c>: depth − 1; reaching 0 with a switch pending is a preemption point.</summary>
    PreemptEnable = 4,

    /// <summary><c>migrate_disable()</c>: the task stays on its CPU (under <see cref="PreemptionModel.NonRt"/> it is preempt_disable).</summary>
    MigrateDisable = 5,

    /// <summary><c>migrate_enable()</c>: the outermost one runs deferred affinity and MDF_PUSH work, then is a preemption point when a switch is due.</summary>
    MigrateEnable = 6,

    /// <summary>Block for <see cref="SimStep.DurationUs"/> µs, then wake up.</summary>
    Sleep = 7,

    /// <summary>Block on the counting event <see cref="SimStep.Target"/> until it is signalled (consumes one signal).</summary>
    Wait = 8,

    /// <summary>Signal the event <see cref="SimStep.Target"/>: wake its highest-priority waiter (FIFO among equals), or count the signal.</summary>
    Signal = 9,

    /// <summary><c>sched_setaffinity(<see cref="SimStep.Target"/>, <see cref="SimStep.Cpus"/>)</c>: blocks the caller until the target runs inside the mask.</summary>
    SetAffinity = 10,

    /// <summary>The task ends (a script that runs out of steps ends the same way).</summary>
    Exit = 11,

    /// <summary>Run <see cref="SimStep.Body"/> <see cref="SimStep.Count"/> times (expanded when the simulation starts).</summary>
    Repeat = 12,

    /// <summary>
    /// <c>sched_setparam()</c>: the priority of the task <see cref="SimStep.Target"/> (null: the caller
    /// itself) becomes <see cref="SimStep.Count"/> (1..99; FIFO and RR tasks only). Itself: at once. Another
    /// task: requeued at once when queued (at the head when lowered, at the tail when raised), moved
    /// among an event's waiters at once when waiting, set at once when asleep; a task running on another
    /// CPU takes it at its next preemption point, yield or block (the threaded <c>RtScheduler.SetPriority</c>).
    /// </summary>
    SetPriority = 13,

    /// <summary>
    /// <c>sched_setscheduler()</c>: the task <see cref="SimStep.Target"/> (null: the caller itself) takes
    /// the policy <see cref="SimStep.Policy"/> and the priority <see cref="SimStep.Count"/> (1..99 for FIFO
    /// and RR, 0 for Normal), as <see cref="SetPriority"/> sets a priority; a task becoming round-robin
    /// while it runs starts a full slice (the threaded <c>RtScheduler.SetScheduler</c>).
    /// </summary>
    SetScheduler = 14,

    /// <summary>
    /// <c>rt_mutex_lock(<see cref="SimStep.Target"/>)</c> (the threaded <c>RtMutex.LockAsync</c>): takes
    /// the mutex when it is free; else blocks on it, listed by priority, and lends the owner its
    /// priority along the chain of owners (priority inheritance). A wait that would close a cycle, or a
    /// recursive lock, is reported and the step does nothing. With a timeout (<see cref="SimStep.DurationUs"/>
    /// above 0: the threaded <c>RtMutex.WaitAsync(ctx, timeout)</c>), a wait that outlasts it ends: the
    /// task leaves the waiters, its boost of the owner drops at once, and it skips its section, going on
    /// after its next <see cref="Unlock"/> of that mutex.
    /// </summary>
    Lock = 15,

    /// <summary>
    /// <c>rt_mutex_unlock(<see cref="SimStep.Target"/>)</c>: hands the mutex to its top waiter (woken)
    /// and drops the boost its waiters lent; an unlock by a task that does not hold it is reported and
    /// does nothing.
    /// </summary>
    Unlock = 16,

    /// <summary>
    /// <c>local_lock(<see cref="SimStep.Target"/>)</c> (the threaded <c>LocalLock.LockAsync</c>): under
    /// <see cref="PreemptionModel.Rt"/>, migrate_disable and then the lock's instance on the task's CPU,
    /// a sleeping lock with the RtMutex's priority inheritance; under <see cref="PreemptionModel.NonRt"/>,
    /// preempt_disable.
    /// </summary>
    LocalLock = 17,

    /// <summary><c>local_unlock(<see cref="SimStep.Target"/>)</c>: the reverse of <see cref="LocalLock"/>, by the holder on its CPU.</summary>
    LocalUnlock = 18,

    /// <summary>
    /// <c>rt_mutex_trylock(<see cref="SimStep.Target"/>)</c> (the threaded <c>RtMutex.TryLock</c>): takes
    /// the mutex when it is free; held by another task, takes nothing, boosts nobody, and skips its
    /// section, going on after its next <see cref="Unlock"/> of that mutex; held by this task, a
    /// recursive lock, reported and ignored as a <see cref="Lock"/> is (the threaded one throws).
    /// </summary>
    TryLock = 19,

    /// <summary>
    /// <c>local_trylock(<see cref="SimStep.Target"/>)</c> (the threaded <c>LocalLock.TryLock</c>): under
    /// <c>Rt</c> takes this CPU's instance when it is free, or steals it from a waiter it was handed to and
    /// that has not run (migrate-disabled, as <see cref="LocalLock"/>); held by another task, takes nothing,
    /// disables nothing, and skips its section, going on after its next <see cref="LocalUnlock"/> of that
    /// lock; held by this task, a recursive lock, reported and ignored as a <see cref="LocalLock"/> is (the
    /// threaded one throws). Under <c>NonRt</c> it is <see cref="LocalLock"/> (preempt_disable: nothing else runs here).
    /// </summary>
    TryLocalLock = 20,
}
