namespace RtRuntime.Tasks;

/// <summary>Why a task's step handed control back to its CPU's dispatcher.</summary>
internal enum SuspendReason : byte
{
    /// <summary>No runtime awaitable suspended: a foreign await (a Task, I/O) whose continuation will be posted.</summary>
    Foreign = 0,

    /// <summary>A preemption point found work pending (need_resched, timers, a push request, cancellation).</summary>
    PreemptionPoint = 1,

    /// <summary><c>sched_yield</c>: go to the tail of the task's priority.</summary>
    Yield = 2,

    /// <summary>Asleep on a timer or a wait queue; a waker makes it runnable.</summary>
    Block = 3,
}
