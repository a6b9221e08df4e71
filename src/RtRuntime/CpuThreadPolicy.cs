namespace RtRuntime;

/// <summary>
/// The OS scheduling policy CPU threads ask for at start. Opt-in only: the default leaves them as
/// ordinary threads. <c>Thread.Priority</c> does nothing on Linux, so this goes through
/// <c>setpriority</c> / <c>sched_setscheduler</c>.
/// </summary>
public enum CpuThreadPolicy
{
    /// <summary>Leave the threads as the process made them (SCHED_OTHER, nice 0).</summary>
    Default = 0,

    /// <summary><c>setpriority(PRIO_PROCESS, tid, nice)</c> with <see cref="RtSchedulerOptions.CpuThreadPriority"/> as the nice value (−20..19).</summary>
    Nice = 1,

    /// <summary><c>sched_setscheduler(tid, SCHED_FIFO)</c> with <see cref="RtSchedulerOptions.CpuThreadPriority"/> as the RT priority (1..99). Needs CAP_SYS_NICE.</summary>
    Fifo = 2,
}
