using RtRuntime.Cpus;

namespace RtRuntime.Tasks;

/// <summary>
/// The fields of a task that a cross-CPU wakeup touches, kept together in one struct field of
/// <see cref="RtTask"/> (its <c>Wake</c> part; each keeps its name there as a ref property). The waker
/// unlinks the task from its wait queue, sets its run state, reads its placement inputs and links it
/// onto the target CPU's wake list; the woken CPU reads and writes the same as it queues and runs it.
/// The CLR lays a class's own fields out by kind, references first and the rest by size, which spread
/// these over four cache lines of the task; a struct field keeps its fields together, in one or two
/// lines. Every line a waker touches is a cache-line transfer on each side of the handoff (60–300 ns
/// each between this VM's cores).
/// </summary>
internal struct TaskWakeFields
{
    /// <summary>task_cpu().</summary>
    public Cpu? Cpu;

    /// <summary>The run-queue or wake-list link.</summary>
    public RtTask? RqNext;

    /// <summary>The wait-queue links.</summary>
    public RtTask? WaitNext;

    /// <summary>The wait-queue links.</summary>
    public RtTask? WaitPrev;

    /// <summary>cpus_mask.</summary>
    public CpuSet AffinityMask;

    /// <summary>p->migration_disabled.</summary>
    public int MigrationDisabled;

    /// <summary>When a sampled wakeup happened (the low 32 bits of the clock's ns, | 1), for the wakeup-latency metric.</summary>
    public int WokenAtNs;

    /// <summary>The one CPU the mask allows, or −1 (a short: CPU ids are below CpuSet.MaxCpus, 1024).</summary>
    public short SoleCpu;

    /// <summary>The effective priority (a byte: 0..99).</summary>
    public byte Prio;

    /// <summary>The run state (<see cref="TaskRunState"/>).</summary>
    public byte Run;

    /// <summary>A wakeup came while the task ran.</summary>
    public byte WakeWhileRunning;

    /// <summary>The continuation may run.</summary>
    public bool ContinuationReady;

    /// <summary>What the last runtime awaitable asked for.</summary>
    public SuspendReason Reason;

    /// <summary>Counted pushable by the run queue it is on.</summary>
    public bool QueuedPushable;
}
