namespace RtRuntime.Scheduling;

/// <summary>
/// Timer anticipation (<see cref="RtSchedulerOptions.AnticipateTimers"/>) as pure functions, shared by
/// the threaded runtime (nanoseconds of <see cref="Cpus.RtClock"/>) and the simulator (virtual
/// microseconds): the kernel's timer interrupt preempts a busy CPU at the deadline; cooperative points
/// can only stop the running task at the last point before it. Priorities as in <see cref="BalanceRules"/>.
/// </summary>
public static class TimerRules
{
    /// <summary>
    /// True when the running task's next point, <paramref name="gap"/> after this one at
    /// <paramref name="now"/>, would come after <paramref name="deadline"/> (still ahead), and the gap is
    /// within <paramref name="maxGap"/> (the timer lead; 0: anticipation off): the point stops the task.
    /// </summary>
    /// <param name="now">This point's time.</param>
    /// <param name="gap">The expected time to the task's next point.</param>
    /// <param name="deadline">The earliest sleeper deadline on the CPU.</param>
    /// <param name="maxGap">The longest gap anticipation acts on; 0 turns it off.</param>
    public static bool PointAnticipates(long now, long gap, long deadline, long maxGap) =>
        gap <= maxGap && now < deadline && deadline - now <= gap;

    /// <summary>
    /// Whether the sleeper, once its timer fires, will preempt the running task on this CPU, so that
    /// stopping that task for it is worth the spin: its wakeup comes here (select_task_rq keeps a task on
    /// its previous CPU when it would run there at once), it outranks the running task and everything
    /// queued, and the running task is not migrate-disabled (select_task_rq may then send the sleeper
    /// to another CPU: WorkConserving spares a pinned runner).
    /// </summary>
    /// <param name="sleeperPrio">The sleeper's priority.</param>
    /// <param name="sleeperWakesHere">This CPU is the sleeper's previous CPU and its affinity holds it (a timer adopted from a CPU gone offline may belong to a task last on another).</param>
    /// <param name="runningPrio">The running task's priority.</param>
    /// <param name="queuedTop">The highest priority queued on this CPU, or −1.</param>
    /// <param name="runningMigrateDisabled">The running task is migrate-disabled.</param>
    public static bool SleeperWillPreempt(int sleeperPrio, bool sleeperWakesHere, int runningPrio, int queuedTop, bool runningMigrateDisabled) =>
        sleeperWakesHere && !runningMigrateDisabled && sleeperPrio > Math.Max(runningPrio, queuedTop);
    /// <summary>
    /// The busy-CPU timer thread's decision for one busy CPU at <paramref name="now"/>. From
    /// <paramref name="lead"/> before the CPU's earliest deadline its points read the clock
    /// (<see cref="BusyCpuTimer.Poll"/>), so the CPU is its own timer interrupt: it fires the deadline at
    /// its first point after it, or at it (anticipated). The thread then only backs it up,
    /// <paramref name="backstop"/> after the deadline, for points that passed on a countdown that
    /// overshot. A wakeup of the thread at the deadline itself would do nothing the points do not, and
    /// when the OS runs the thread on that CPU's core it takes the core from the CPU thread (about 16 µs
    /// on this VM kind) exactly when the woken task should run. Without a lead (0) the thread flags the
    /// CPU at the deadline, as the kernel's timer interrupt would.
    /// </summary>
    /// <param name="now">The scan's time.</param>
    /// <param name="near">The CPU's earliest deadline, sleeper or RR slice; <see cref="long.MaxValue"/>: none.</param>
    /// <param name="deadline">The earliest of those this thread must fire (a sleeper an idle CPU's timer duty covers excluded).</param>
    /// <param name="lead">The timer lead; 0: off.</param>
    /// <param name="backstop">How long after the deadline of a polling CPU the thread flags it.</param>
    public static BusyCpuTimer ForBusyCpu(long now, long near, long deadline, long lead, long backstop)
    {
        bool poll = lead > 0 && near != long.MaxValue && near - lead <= now;
        long fireAt = poll && deadline != long.MaxValue ? deadline + backstop : deadline;
        bool fire = fireAt <= now;
        long next = fire ? long.MaxValue : fireAt; // once flagged, the CPU re-arms the thread after firing
        bool spin = !fire && !poll && fireAt != long.MaxValue;
        if (!poll && lead > 0 && near != long.MaxValue && near - lead < next)
        {
            next = near - lead;
            spin = false;
        }

        return new BusyCpuTimer(poll, fire, next, spin);
    }
}
