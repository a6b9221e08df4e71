namespace RtRuntime.Cpus;

/// <summary>Bits of a CPU's pending word: why the running task's next preemption point must take the slow path.</summary>
internal static class PendingWork
{
    /// <summary>TIF_NEED_RESCHED: a higher-priority task became runnable here.</summary>
    public const int NeedResched = 1;

    /// <summary>An hrtimer expired on this busy CPU (a sleeper's deadline or the RR slice).</summary>
    public const int Timer = 2;

    /// <summary>A stopper request (push_cpu_stop / migration_cpu_stop): move the running task away.</summary>
    public const int Stop = 4;

    /// <summary>Stall detection's probe: make the running task's next preemption point report back to the dispatcher.</summary>
    public const int Probe = 32;

    /// <summary>Tasks wait on the CPU's wake list (sched_ttwu_pending): the next preemption point queues them.</summary>
    public const int WakeList = 64;

    /// <summary>
    /// A sleeper's deadline (or the RR slice) on this busy CPU is less than the timer lead away: the
    /// preemption points poll it (<see cref="Cpu.NearTimerDue"/>: a clock read at halving distances, a
    /// countdown between) and take the slow path once it has passed, or at the last point before a
    /// sleeper's deadline (timer anticipation), instead of waiting for <c>rt/timer</c>'s (or the duty
    /// CPU's) wakeup, which the OS may delay by tens of microseconds. (Not a TIF bit: the kernel's timer
    /// interrupt reaches a busy CPU at once.)
    /// </summary>
    public const int TimerSoon = 256;
}
