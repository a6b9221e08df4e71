using RtRuntime.Cpus;

namespace RtRuntime.Tasks;

/// <summary>
/// A runtime task: the kernel's <c>task_struct</c>. The handle exposes the task's identity, state,
/// CPU, counters and an awaitable completion; the body sees the same task through its
/// <see cref="TaskContext"/>. Split by component: this file holds identity and the public view,
/// <c>RtTask.Dispatch.cs</c> what the CPU dispatcher drives, <c>RtTask.Completion.cs</c> the
/// awaitable completion, <c>RtTask.SynchronizationContext.cs</c> the context its body runs under.
/// </summary>
public abstract partial class RtTask : SynchronizationContext
{
    // Ids are handed out in blocks per spawning thread: one locked add per block, not per spawn.
    private const int IdBlock = 256;
    private static long s_nextIdBlock;
    [ThreadStatic]
    private static long t_nextId;
    [ThreadStatic]
    private static long t_idLimit;

    internal readonly RtScheduler Scheduler;

    private protected RtTask(RtScheduler scheduler, string? name, int priority, SchedPolicy policy, CpuSet affinity)
    {
        Scheduler = scheduler;
        StrictChecks = scheduler.Strict;
        SetIdentity(name, priority, policy, affinity);
    }

    /// <summary>What a spawn gives a task (the constructor's, and a cached task's new life): id, name, policy, priority, affinity, gate.</summary>
    private void SetIdentity(string? name, int priority, SchedPolicy policy, CpuSet affinity)
    {
        Id = NextId();
        _name = name;
        _policy = (byte)policy;
        _basePriority = (byte)priority;
        Prio = policy == SchedPolicy.Normal ? 0 : priority;
        SetSpawnAffinity(affinity);
        Gate = StrictChecks ? GateOffCpu | GateStrict : GateOffCpu;
    }

    private static long NextId()
    {
        if (t_nextId == t_idLimit)
        {
            t_idLimit = Interlocked.Add(ref s_nextIdBlock, IdBlock) + 1;
            t_nextId = t_idLimit - IdBlock;
        }

        return t_nextId++;
    }

    /// <summary>A process-unique id (the kernel's pid; unique, increasing per spawning thread, not dense).</summary>
    public long Id { get; private set; }

    /// <summary>The task's name (the kernel's comm).</summary>
    public string Name => _name ?? "task-" + Id.ToString(System.Globalization.CultureInfo.InvariantCulture); // unnamed: made on each use, not per spawn (and not kept: a pooled task's object may be in its next life when a snapshot asks)

    private string? _name;

    /// <summary>The scheduling policy: the one it was spawned with until it is changed (<see cref="RtScheduler.SetScheduler"/>, <see cref="TaskContext.SetScheduler"/>).</summary>
    public SchedPolicy Policy => (SchedPolicy)_policy; // a plain read: the CPU thread's switch-in and points read it, and only the task's owner writes it (SetSchedParams)

    // Policy and base priority fit a byte each (validated at spawn): with the other small fields they
    // pack into one 8-byte slot of the task object.
    private byte _policy;
    private byte _basePriority;

    /// <summary>
    /// Its own RT priority (the kernel's normal_prio): 1..99 (99 highest), 0 for <see cref="SchedPolicy.Normal"/>;
    /// the one it was spawned with until it is changed (<see cref="TaskContext.SetPriority"/>, <see cref="RtScheduler.SetPriority"/>, <see cref="RtScheduler.SetScheduler"/>).
    /// </summary>
    public int BasePriority => Volatile.Read(ref _basePriority);

    /// <summary>
    /// Changes <see cref="Policy"/> and <see cref="BasePriority"/> (0 for <see cref="SchedPolicy.Normal"/>),
    /// where no run queue or wait list holds the task at its old priority: under the run-queue lock of
    /// its CPU, by whoever holds it then (<c>RtScheduler.SetScheduler</c>'s owners). The caller then
    /// recomputes its effective priority.
    /// </summary>
    internal void SetSchedParams(SchedPolicy policy, int priority)
    {
        if (RareOrNull is { RoundRobinSliceLeftNs: not 0 } rare && policy != Policy)
        {
            rare.RoundRobinSliceLeftNs = 0; // a task that becomes round-robin again starts a full slice
        }

        Volatile.Write(ref _policy, (byte)policy);
        Volatile.Write(ref _basePriority, (byte)(policy == SchedPolicy.Normal ? 0 : priority));
    }

    /// <summary>
    /// Takes a request from another thread (<see cref="RtTaskRare.SchedRequest"/>) and sets what it asks
    /// (<see cref="SetSchedParams"/>; a <see cref="SchedRequest.Recompute"/> sets nothing); false when
    /// there was none. True: the caller computes the effective priority again (after this, so that a
    /// boost posted before the request's last write is seen).
    /// </summary>
    internal bool TryTakeSchedRequest(RtTaskRare rare)
    {
        int request = Volatile.Read(ref rare.SchedRequest);
        bool taken = request != 0;
        while (request != 0)
        {
            if (Tasks.SchedRequest.TryDecode(request, this, out SchedPolicy policy, out int priority))
            {
                SetSchedParams(policy, priority);
            }

            // Cleared only once applied: a setter that still finds it reads the policy it brings, and one
            // that finds it cleared reads that policy on the task. A request replaced meanwhile is applied too.
            int found = Interlocked.CompareExchange(ref rare.SchedRequest, 0, request);
            if (found == request)
            {
                break;
            }

            request = found;
        }

        return taken;
    }

    /// <summary>The priority it is scheduled at now (above <see cref="BasePriority"/> while boosted by priority inheritance).</summary>
    public int EffectivePriority => PrioVolatile;

    /// <summary>
    /// The requested affinity (the kernel's <c>cpus_mask</c>, what <c>/proc/PID/status</c> prints): it
    /// does not show the temporary single-CPU pin of a switched-out migrate-disabled task.
    /// </summary>
    public CpuSet Affinity => AffinityMask;

    /// <summary>
    /// The CPUs the task may run on right now (the kernel's <c>cpus_ptr</c>): its CPU alone while it is
    /// migrate-disabled and switched out, else <see cref="Affinity"/>.
    /// </summary>
    public CpuSet EffectiveAffinity =>
        MigrationDisabled > 0 && Volatile.Read(ref Run) != TaskRunState.Running && Cpu is { } cpu
            ? CpuSet.Of(cpu.Id)
            : AffinityMask;

    /// <summary>
    /// The CPU the task is running on, queued on, or last ran on (−1 before it was first placed). The
    /// load is volatile (on x64 still one plain <c>mov</c>): the field is written by the CPU threads
    /// that queue and move the task, and a loop on another thread that polls this property with no
    /// call in its body would otherwise have the load made once, before the loop, by the JIT, and
    /// never see the task move.
    /// </summary>
    public int CurrentCpu => Volatile.Read(ref Cpu)?.Id ?? -1;

    /// <summary>
    /// Where the task is in its life. A task being ended (no CPU can take it any more, its outcome not
    /// yet published) reads as the final state it gets: every ending writes the run state Dead and then
    /// publishes the outcome on the same thread, with nothing between that waits for other work
    /// (<c>Finish</c>, <c>FaultFromStep</c>, <c>CancelUnstarted</c>, <c>EndAtStop</c>), and the read
    /// waits for it. It read as <see cref="RtTaskState.Runnable"/> ("on a run queue") before (review helper-162).
    /// </summary>
    public RtTaskState State
    {
        get
        {
            var spin = new SpinWait();
            while (true)
            {
                if (IsCompleted)
                {
                    return FinalState;
                }

                switch (Volatile.Read(ref Run))
                {
                    case TaskRunState.Running:
                        return RtTaskState.Running;
                    case TaskRunState.Blocked:
                        return RtTaskState.Blocked;
                    case TaskRunState.Dead:
                        spin.SpinOnce(); // being ended: its outcome comes next
                        break;
                    default:
                        return RtTaskState.Runnable;
                }
            }
        }
    }

    /// <summary>
    /// Times the task was switched in (context switches onto a CPU). Being picked again right after it
    /// left, with no other task run between (a yield with nothing else runnable), is none: the kernel's
    /// <c>__schedule</c> counts <c>nvcsw</c>/<c>nivcsw</c> only when <c>prev != next</c>.
    /// </summary>
    public long Switches => Volatile.Read(ref SwitchCount);

    /// <summary>
    /// Times the task was switched out involuntarily (preempted at a preemption point, or moved away by
    /// the stopper, which preempts it to move it) and another task ran on its CPU: one picked again at once (its preempters pushed or pulled away before the pick)
    /// is none, as <c>__schedule</c> counts <c>nivcsw</c> only when <c>prev != next</c>. A preemption at a
    /// point is counted once it stands (the CPU's next pick, or the task's leaving its queue before it), so
    /// the count never goes down.
    /// </summary>
    public long Preemptions => Volatile.Read(ref PreemptionCount);

    /// <summary>Times the task moved from one CPU to another (the kernel's <c>se.nr_migrations</c>).</summary>
    public long Migrations => Volatile.Read(ref MigrationCount);

    /// <summary>
    /// Interference suffered: total time this task spent preempted inside a migrate-disabled section,
    /// pinned under a higher-priority task (the unmerged migrate_disable tracer's "migrate_pull → sched-in").
    /// </summary>
    public TimeSpan Interference => TimeSpan.FromTicks((RareOrNull is { } rare ? Volatile.Read(ref rare.InterferenceNs) : 0) / 100);

    /// <summary>
    /// Time the task has run (<c>se.sum_exec_runtime</c>): the wall-clock time of its steps on its CPU
    /// thread. Zero unless <see cref="RtSchedulerOptions.TaskRunTime"/> is on.
    /// </summary>
    public TimeSpan RunTime => TimeSpan.FromTicks((RareOrNull is { } rare ? Volatile.Read(ref rare.RunTimeNs) : 0) / 100);

    /// <summary>
    /// The task's longest step: the longest it ran between two awaits (its worst-case stretch without a
    /// preemption point). Zero unless <see cref="RtSchedulerOptions.TaskRunTime"/> is on.
    /// </summary>
    public TimeSpan LongestStep => TimeSpan.FromTicks((RareOrNull is { } rare ? Volatile.Read(ref rare.LongestStepNs) : 0) / 100);

    /// <summary>The preempt-disable depth (the kernel's <c>preempt_count</c>, preemption bits).</summary>
    public int PreemptDepth => Volatile.Read(ref PreemptCount);

    /// <summary>The migrate-disable depth (the kernel's <c>p->migration_disabled</c>).</summary>
    public int MigrateDisableDepth => Volatile.Read(ref MigrationDisabled);

    /// <summary>Asks the task to stop: observed at its next preemption point or blocking wait (which throw <see cref="OperationCanceledException"/>).</summary>
    public void Cancel() => Scheduler.RequestCancel(this);

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Name}/{Id} prio {EffectivePriority} {Policy} cpu{CurrentCpu} {State}";
}
