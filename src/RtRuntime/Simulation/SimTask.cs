using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Simulation;

/// <summary>
/// A simulated task_struct: identity, the flattened script and its program counter, the guard depths
/// (<c>preempt_count</c>, <c>migration_disabled</c>, MDF_PUSH), <c>cpus_mask</c> and <c>task_cpu</c>.
/// Invariant: a live task is in exactly one place (a CPU's <c>curr</c>, one run queue, the sleepers,
/// one event's waiters, or one target's affinity waiters), which the engine checks after every event.
/// </summary>
internal sealed class SimTask
{
    public SimTask(int id, SimTaskSpec spec, SimStep[] steps, CpuSet mask)
    {
        Id = id;
        Name = spec.Name;
        Prio = spec.Priority;
        NormalPrio = spec.Priority;
        Policy = spec.Policy;
        Steps = steps;
        Mask = mask;
        WakeHint = spec.WakeCpu;
        SpawnUs = spec.SpawnUs;
        Figures = new SimTaskFigures(spec.Name, spec.Priority);
    }

    public int Id { get; }

    public string Name { get; }

    /// <summary>
    /// The effective priority (<c>p->prio</c>): the higher of <see cref="NormalPrio"/> and
    /// <see cref="MutexBoost"/>. Set while it runs by its own steps; queued, waiting or asleep, by another
    /// task's (which requeues it).
    /// </summary>
    public int Prio { get; set; }

    /// <summary>The priority its policy gives it (<c>p->normal_prio</c>): what SetPriority and SetScheduler set.</summary>
    public int NormalPrio { get; set; }

    /// <summary>
    /// The highest top-waiter priority over the locks it holds, RtMutexes and local locks' instances
    /// (<c>rt_mutex_get_top_task</c>), 0 when none; kept at once as waiters come and go (the threaded
    /// runtime's PI lock).
    /// </summary>
    public int MutexBoost;

    /// <summary>
    /// <see cref="MutexBoost"/> changed while the task ran on another CPU: its effective priority follows
    /// at its next preemption point, yield or block (the threaded <c>SchedRequest.Recompute</c>).
    /// </summary>
    public bool BoostPending;

    /// <summary>The locks it holds (RtMutexes and local locks' instances), in the order it took them.</summary>
    public List<SimMutex>? Held;

    /// <summary>
    /// The lock it is blocked on (while <see cref="SimTaskState.Waiting"/> on its waiters; or, robbed of an
    /// RtMutex handed to it, listed again while queued until its claim blocks it), or null.
    /// </summary>
    public SimMutex? BlockedOn;

    /// <summary>
    /// The lock an unlock handed it to (<see cref="SimMutex.Pending"/>): it claims it when it next runs,
    /// and blocks again if a higher task stole it meanwhile (the threaded <c>ClaimOrReblock</c>).
    /// </summary>
    public SimMutex? PendingLock;

    /// <summary>Its timed lock wait's timeout came while the mutex was pending for it: if it was robbed, its claim ends the wait.</summary>
    public bool TimedOutWhilePending;

    /// <summary>Counts its lock waits: a timed wait's timeout event carries the number of its wait, and is stale for any other.</summary>
    public int LockWaitGen;

    /// <summary>
    /// Its timed lock wait's timeout is still to come: cleared when the wait ends otherwise (the mutex
    /// handed to it), as the threaded wait disarms its timer, so that the stale event neither keeps the
    /// run going nor moves the clock.
    /// </summary>
    public bool LockTimeoutArmed;

    /// <summary>What <see cref="Prio"/> should be: the higher of the normal priority and the boost.</summary>
    public int EffectivePrio => Math.Max(NormalPrio, MutexBoost);

    public SchedPolicy Policy { get; set; } // changed as Prio is, by a SetScheduler step

    public SimStep[] Steps { get; }

    public int WakeHint { get; }

    public long SpawnUs { get; }

    public SimTaskFigures Figures { get; }

    /// <summary>cpus_mask: the requested (reported) affinity.</summary>
    public CpuSet Mask;

    /// <summary>task_cpu(); −1 before the first placement.</summary>
    public int Cpu = -1;

    public SimTaskState State;

    public int Pc;

    /// <summary>µs left of the current Run step; −1 when the step has not started.</summary>
    public long RunLeft = -1;

    /// <summary>Length of the segment in flight (ends with a preemption point).</summary>
    public long SegmentUs;

    /// <summary>Counts the segments posted for this task: a SegmentEnd event of an older one (a spin cut short) is stale.</summary>
    public int SegmentGen;

    /// <summary>When the task's CPU began spinning to an anticipated deadline for it, or −1 when it is not spinning.</summary>
    public long SpinStartUs = -1;

    /// <summary>When a sleeping task's timer fires (virtual µs).</summary>
    public long SleepUntilUs;

    /// <summary>When the task last passed a preemption point, and its switch generation then (−1: never).</summary>
    public long PointUs = -1;

    /// <summary>
    /// SCHED_RR: the part of its slice the task has used (µs) when it last left its CPU (the kernel's
    /// <c>p->rt.time_slice</c>, counted the other way); its next switch-in, on any CPU, goes on from there.
    /// 0 after a rotation and after a policy change.
    /// </summary>
    public long SliceUsedUs;

    /// <summary>The <see cref="SwitchGen"/> at <see cref="PointUs"/>: a point followed by no switch.</summary>
    public int PointGen;

    public int PreemptCount;

    /// <summary>Counts switch-ins: a script runner stops when the task was switched out and in again meanwhile.</summary>
    public int SwitchGen;

    /// <summary>p->migration_disabled (always 0 under NonRt, where the guard is preempt-disable).</summary>
    public int MigrationDisabled;

    /// <summary>
    /// A policy (null: keep the task's, sched_setparam) and priority set by another task while this one
    /// ran on another CPU, taken at its next preemption point, yield or block; null when none.
    /// </summary>
    public (SchedPolicy? Policy, int Priority)? SchedRequest;

    /// <summary>MDF_PUSH: a push deferred to the outermost migrate_enable.</summary>
    public bool MdfPush;

    /// <summary>When it last became runnable-and-waiting (for the longest wait).</summary>
    public long WaitSince;

    /// <summary>Callers of set_cpus_allowed_ptr waiting until this task runs inside its mask (the shared set_affinity_pending).</summary>
    public List<SimTask>? AffinityWaiters;

    /// <summary>The task whose affinity this task waits for (while <see cref="SimTaskState.AffinityWait"/>).</summary>
    public SimTask? AffinityTarget;

    /// <summary>The event this task waits on (while <see cref="SimTaskState.Waiting"/>).</summary>
    public SimWaitQueue? WaitingOn;

    public bool IsLive => State is not (SimTaskState.NotSpawned or SimTaskState.Exited);

    public bool IsBlocked => State is SimTaskState.Sleeping or SimTaskState.Waiting or SimTaskState.AffinityWait;

    /// <summary>cpus_ptr: the CPU alone while pinned and switched out (lazy pin), else the mask.</summary>
    public CpuSet EffectiveMask => MigrationDisabled > 0 && State != SimTaskState.Running && Cpu >= 0 ? CpuSet.Of(Cpu) : Mask;

    public override string ToString() => Name;
}
