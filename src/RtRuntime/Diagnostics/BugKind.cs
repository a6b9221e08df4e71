namespace RtRuntime;

/// <summary>Kernel-style BUGs the runtime detects in task code (each with the kernel's message).</summary>
public enum BugKind
{
    /// <summary>"BUG: scheduling while atomic": a task suspended while preempt-disabled.</summary>
    SchedulingWhileAtomic = 0,

    /// <summary>"BUG: using smp_processor_id() in preemptible code".</summary>
    ProcessorIdInPreemptible = 1,

    /// <summary>"BUG: using this-CPU data in preemptible code" (a this-CPU slot accessed without a guard).</summary>
    ThisCpuInPreemptible = 2,

    /// <summary>
    /// "BUG: lock held when task exited" (lockdep's "lock held when returning to user space"): a task
    /// ended holding a <see cref="PerCpu.LocalLock"/> or an <see cref="Tasks.RtMutex"/>; the runtime released it (to its top waiter).
    /// A lock handed to a waiter that ended before it ran to take it is given back, not reported: the
    /// task never held it.
    /// </summary>
    LockHeldAtExit = 3,

    /// <summary>
    /// "BUG: circular locking deadlock detected" (the rt_mutex chain walk's report): a task asked for a
    /// <see cref="PerCpu.LocalLock"/> held by a task that waits, through local locks and RtMutexes, for a
    /// lock the asking task holds (Rt model), or an <see cref="Tasks.RtMutex"/> whose owner waits, through
    /// RtMutexes and local locks, for one it holds. The kernel's in-kernel lock then sleeps forever; here
    /// the wait's await throws instead, and nothing is taken.
    /// </summary>
    Deadlock = 4,
}
