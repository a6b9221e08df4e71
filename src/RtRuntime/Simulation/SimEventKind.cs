namespace RtRuntime.Simulation;

/// <summary>The kind of a <see cref="SimTraceEvent"/> (after the kernel's sched tracepoints where one exists).</summary>
public enum SimEventKind
{
    /// <summary>The task was created and placed on <see cref="SimTraceEvent.Cpu"/> (sched_wakeup_new).</summary>
    Spawn = 0,

    /// <summary>The task woke and was placed on <see cref="SimTraceEvent.Cpu"/> (sched_wakeup); <see cref="SimTraceEvent.OtherCpu"/> is its previous CPU.</summary>
    Wakeup = 1,

    /// <summary>The task started running on the CPU (sched_switch, next).</summary>
    SwitchIn = 2,

    /// <summary>The task was preempted at a preemption point and requeued (sched_switch, prev runnable).</summary>
    Preempt = 3,

    /// <summary>The task yielded the CPU (sched_yield) and was requeued at the tail.</summary>
    Yield = 4,

    /// <summary>The task blocked (sleep, wait, or waiting for an affinity change).</summary>
    Block = 5,

    /// <summary>The task ended.</summary>
    Exit = 6,

    /// <summary>A queued task was pushed from <see cref="SimTraceEvent.OtherCpu"/> to <see cref="SimTraceEvent.Cpu"/> (push_rt_task).</summary>
    Push = 7,

    /// <summary><see cref="SimTraceEvent.Cpu"/> pulled a queued task from <see cref="SimTraceEvent.OtherCpu"/> (pull_rt_task).</summary>
    Pull = 8,

    /// <summary>A push of the running task was requested on <see cref="SimTraceEvent.Cpu"/> (stop_one_cpu_nowait(push_cpu_stop)).</summary>
    PushRequested = 9,

    /// <summary>A pile-up repair moved the task that preempted a pinned one from <see cref="SimTraceEvent.OtherCpu"/> to <see cref="SimTraceEvent.Cpu"/>: the stopper while it ran (push_cpu_stop), or before it started.</summary>
    PushRunning = 10,

    /// <summary>The stopper found the runner migrate-disabled and deferred the push to its migrate_enable (MDF_PUSH).</summary>
    PushDeferred = 11,

    /// <summary>The task was moved from <see cref="SimTraceEvent.OtherCpu"/> to <see cref="SimTraceEvent.Cpu"/> because its affinity excludes its CPU (migration_cpu_stop).</summary>
    Migrate = 12,

    /// <summary>The task (the caller) requested a new affinity for <see cref="SimTraceEvent.Other"/>; it is reported at once.</summary>
    AffinitySet = 13,

    /// <summary>The task's (the caller's) affinity request completed: the target runs inside the mask.</summary>
    AffinityDone = 14,

    /// <summary>The task's affinity request was refused (EBUSY: self-issued inside migrate_disable).</summary>
    AffinityFailed = 15,

    /// <summary>The task's outermost migrate_disable (<c>nr_pinned</c> + 1 on the CPU).</summary>
    MigrateDisable = 16,

    /// <summary>The task's outermost migrate_enable (<c>nr_pinned</c> − 1 on the CPU).</summary>
    MigrateEnable = 17,

    /// <summary>The CPU went idle.</summary>
    Idle = 18,

    /// <summary>A kernel-style BUG in the script (scheduling while atomic, guard underflow); see <see cref="SimResult.Bugs"/>.</summary>
    Bug = 19,

    /// <summary>Timer anticipation: the running task stopped at its point before a sleeper's deadline and the CPU spins to it (other: the sleeper).</summary>
    TimerSpin = 20,

    /// <summary>
    /// The task's effective priority changed by priority inheritance (sched_pi_setprio): a waiter on an
    /// RtMutex it holds lent it a higher one, or the loan ended; <see cref="SimTraceEvent.Other"/> is the
    /// new priority. Traced where it takes effect (a running owner on another CPU at its next point).
    /// </summary>
    PiSetPrio = 21,

    /// <summary>
    /// A lock failed: a timed lock's wait timed out (the task leaves the waiters and wakes), or a
    /// try-lock found the mutex held; the task skips its section, to after its next unlock of that
    /// mutex. <see cref="SimTraceEvent.Other"/> is the mutex.
    /// </summary>
    LockFailed = 22,

    /// <summary>
    /// The task took an RtMutex that an unlock had handed to a lower waiter which had not run yet
    /// (<c>rt_mutex_steal</c>); that waiter is listed again, and blocks again when it runs.
    /// <see cref="SimTraceEvent.Other"/> is the mutex.
    /// </summary>
    LockStolen = 23,
}
