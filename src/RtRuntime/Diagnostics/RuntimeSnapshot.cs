using System.Text.Json;
using System.Text.Json.Serialization;

namespace RtRuntime;

/// <summary>The /proc view of a runtime at one moment: every CPU and every live task.</summary>
/// <param name="Taken">When the snapshot was taken.</param>
/// <param name="Cpus">Per CPU.</param>
/// <param name="Tasks">Per live task.</param>
public sealed record RuntimeSnapshot(DateTimeOffset Taken, IReadOnlyList<CpuSnapshot> Cpus, IReadOnlyList<TaskSnapshot> Tasks)
{
    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>The snapshot as indented JSON (enums as names).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, s_json);
}

/// <summary>One CPU in a <see cref="RuntimeSnapshot"/> (the kernel's struct rq as /proc/sched_debug shows it).</summary>
/// <param name="Id">Logical CPU id.</param>
/// <param name="Core">Core it is pinned to (−1 unpinned).</param>
/// <param name="Online">cpu_online.</param>
/// <param name="Active">cpu_active.</param>
/// <param name="CurrentTask">The running task's name, or null.</param>
/// <param name="CurrentTaskId">The running task's id, or null.</param>
/// <param name="CurrentPriority">The running task's effective priority, −1 when idle.</param>
/// <param name="Queue">Queued tasks, highest priority first.</param>
/// <param name="NrPinned">rq->nr_pinned.</param>
/// <param name="Busy">Time spent running tasks.</param>
/// <param name="Idle">Time spent idle: polling for work before parking, and parked.</param>
/// <param name="LostBandwidth">Time idle or running lower priority while a higher-priority task allowed here waited.</param>
/// <param name="ContextSwitches">Tasks switched in (a pick of the task that just left, as after a yield with nothing else runnable, is none: the kernel counts only <c>prev != next</c>).</param>
/// <param name="TimerSpins">Sleeper deadlines this CPU anticipated: it stopped the running task at the point before the deadline and spun to it (<see cref="RtSchedulerOptions.AnticipateTimers"/>).</param>
/// <param name="TimerSpin">Time spent in those spins (taken from the tasks stopped early).</param>
public sealed record CpuSnapshot(
    int Id, int Core, bool Online, bool Active, string? CurrentTask, long? CurrentTaskId, int CurrentPriority,
    IReadOnlyList<QueuedTaskSnapshot> Queue, int NrPinned, TimeSpan Busy, TimeSpan Idle, TimeSpan LostBandwidth, long ContextSwitches,
    long TimerSpins, TimeSpan TimerSpin)
{
    /// <summary>
    /// How long before a timer this CPU asks the OS to wake it when idle, learnt from how late its
    /// timed sleeps came back (<see cref="RtSchedulerOptions.TimerEarlyWakeMax"/>); zero when off or not learnt yet.
    /// </summary>
    public TimeSpan TimerEarlyWake { get; init; }

    /// <summary>
    /// The CPU time the OS has given this CPU's thread (<see cref="RtScheduler.CpuThreadTime"/>), or
    /// null where the OS does not tell. Two snapshots show whether the OS ran a CPU that made no progress.
    /// </summary>
    public TimeSpan? ThreadCpuTime { get; init; }
}

/// <summary>A queued task in a <see cref="CpuSnapshot"/>.</summary>
/// <param name="Id">Task id.</param>
/// <param name="Name">Task name.</param>
/// <param name="Priority">Effective priority.</param>
public sealed record QueuedTaskSnapshot(long Id, string Name, int Priority);

/// <summary>One task in a <see cref="RuntimeSnapshot"/> (as /proc/PID/status shows it).</summary>
/// <param name="Id">Task id.</param>
/// <param name="Name">Task name.</param>
/// <param name="State">Life state.</param>
/// <param name="Policy">Scheduling policy.</param>
/// <param name="BasePriority">Its own priority (normal_prio, <see cref="Tasks.RtTask.BasePriority"/>): the one it was spawned with until SetPriority or SetScheduler changed it; 0 for a Normal task.</param>
/// <param name="EffectivePriority">Priority now (boosted by PI when above the base).</param>
/// <param name="Affinity">Requested affinity (cpus_mask), as a cpulist.</param>
/// <param name="EffectiveAffinity">Effective affinity (cpus_ptr), as a cpulist.</param>
/// <param name="Cpu">Current or last CPU.</param>
/// <param name="PreemptDepth">preempt_count.</param>
/// <param name="MigrateDisableDepth">migration_disabled.</param>
/// <param name="Switches">Times switched in.</param>
/// <param name="Preemptions">Times preempted.</param>
/// <param name="Migrations">Times moved between CPUs.</param>
/// <param name="Interference">Time spent preempted while migrate-disabled (waiting pinned under a higher priority).</param>
public sealed record TaskSnapshot(
    long Id, string Name, Tasks.RtTaskState State, Tasks.SchedPolicy Policy, int BasePriority, int EffectivePriority,
    string Affinity, string EffectiveAffinity, int Cpu, int PreemptDepth, int MigrateDisableDepth, long Switches, long Preemptions, long Migrations,
    TimeSpan Interference)
{
    /// <summary>Time the task has run (sum_exec_runtime); zero unless <see cref="RtSchedulerOptions.TaskRunTime"/> is on.</summary>
    public TimeSpan RunTime { get; init; }

    /// <summary>The task's longest step; zero unless <see cref="RtSchedulerOptions.TaskRunTime"/> is on.</summary>
    public TimeSpan LongestStep { get; init; }
}
