namespace RtRuntime.Stress;

/// <summary>The names of the invariants the harness checks (stable: they appear in reports and exit messages).</summary>
public static class Invariants
{
    /// <summary>Every accepted task ended completed, faulted or cancelled, and the runtime's counts match the harness's.</summary>
    public const string AllTasksAccounted = "all-tasks-accounted";

    /// <summary>Every task ended the way its script allows (a fault only when injected, a cancel only when requested).</summary>
    public const string ExpectedOutcome = "expected-outcome";

    /// <summary>Every CPU's nr_pinned is back to 0 once the tasks ended.</summary>
    public const string NrPinnedZero = "nr-pinned-zero";

    /// <summary>No kernel-style BUG was reported (unless the run injects one).</summary>
    public const string NoBugReports = "no-bug-reports";

    /// <summary>A task never changes CPU inside a migrate-disabled section: neither its recorded CPU nor the CPU thread that runs it (checked at its steps).</summary>
    public const string MigrateDisabledStays = "migrate-disabled-stays";

    /// <summary>A task runs only on CPUs in its affinity (checked at its steps, on its recorded CPU and on the CPU thread that runs it).</summary>
    public const string AffinityRespected = "affinity-respected";

    /// <summary>The runtime stopped cleanly: no task abandoned, none still live after the drain.</summary>
    public const string CleanStop = "clean-stop";

    /// <summary>
    /// The scenario ran to its end and its figures cover the whole run: not interrupted (Ctrl+C), no
    /// unexpected exception, not abandoned after the watchdog fired.
    /// </summary>
    public const string ScenarioCompleted = "scenario-completed";

    /// <summary>
    /// The scenario ended within its planned time plus the watchdog's grace (<see cref="StressSettings.WatchdogGrace"/>),
    /// or within the grace's settle time after an interruption. The failure lists the tasks still live then.
    /// </summary>
    public const string Watchdog = "watchdog";

    /// <summary>The deterministic simulator found one of its invariants broken (task lost or duplicated, pinned task moved, preempt-disabled task switched out, not the N highest when balanced).</summary>
    public const string SimulatorInvariant = "simulator-invariant";

    /// <summary>Per-CPU data adds up: a PerCpuCounter's Sum (and a PerCpu slot total) equals the increments the tasks made.</summary>
    public const string PerCpuSumExact = "percpu-sum-exact";

    /// <summary>A per-CPU pool neither loses nor duplicates objects: created = global + cached once all are returned, and no object is rented twice at once.</summary>
    public const string PoolAccounting = "pool-accounting";

    /// <summary>The permits the mixed scripts' timed waits take and give back are all back after the stop: a timed-out wait took none, a granted one exactly one.</summary>
    public const string PermitsConserved = "permits-conserved";

    /// <summary>Every CPU is online at the end of a hotplug run, no task started on an offline CPU (checked at each task's start), a dying CPU has no pinned task at its offline callbacks, and an offline finishes in time.</summary>
    public const string HotplugConsistent = "hotplug-consistent";

    /// <summary>
    /// A task object from the runtime's cache (<see cref="RtScheduler.RunAsync"/>) is never given another
    /// life while its task runs: the body sees the same object and id from its first step to its last.
    /// </summary>
    public const string TaskObjectReuse = "task-object-reuse";

    /// <summary>
    /// A local lock excludes: its holder is the owner the lock reports, and the read-modify-writes of a
    /// per-CPU slot made under it across preemption points add up to the number of sections.
    /// </summary>
    public const string LocalLockExclusive = "local-lock-exclusive";

    /// <summary>
    /// No priority-inheritance boost outlives its lock, and a task's own priority change takes effect: a
    /// task that holds no local lock runs at its base priority.
    /// </summary>
    public const string BoostReleased = "boost-released";

    /// <summary>
    /// An RtMutex excludes across CPUs: its holder is the owner it reports, the read-modify-writes of a
    /// shared counter made under it across sleeps and preemption points add up to the number of
    /// sections, and it is free after the stop.
    /// </summary>
    public const string RtMutexExclusive = "rt-mutex-exclusive";

    /// <summary>
    /// Priority inheritance bounds an inversion: while a high task waits for an RtMutex whose low holder
    /// a middle task preempted on their one CPU, the middle task makes no progress (the holder runs at
    /// the high task's priority until it unlocks).
    /// </summary>
    public const string PriorityInheritanceBounds = "pi-bounds-inversion";
}
