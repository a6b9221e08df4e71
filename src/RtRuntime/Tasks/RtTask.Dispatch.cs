using System.Runtime.CompilerServices;
using RtRuntime.Cpus;

namespace RtRuntime.Tasks;

/// <summary>The dispatcher's side of a task: run state, continuation, guards, queue links.</summary>
public abstract partial class RtTask
{
    // ---- scheduling identity (changed under the owning CPU's run-queue lock) ----

    /// <summary>Effective priority index: 0 = normal class, 1..99 = RT (higher runs first).</summary>
    internal int Prio
    {
        get => _wake.Prio;
        set => _wake.Prio = (byte)value;
    }

    /// <summary>The effective priority, published for readers off the CPU's lock (<see cref="EffectivePriority"/>).</summary>
    internal int PrioVolatile
    {
        get => Volatile.Read(ref _wake.Prio);
        set => Volatile.Write(ref _wake.Prio, (byte)value);
    }

    // What a cross-CPU wakeup touches, together on one or two cache lines (TaskWakeFields).
    private TaskWakeFields _wake;

    /// <summary>cpus_mask: the requested affinity.</summary>
    internal CpuSet AffinityMask
    {
        get => _wake.AffinityMask;
        set
        {
            SetAffinityFields(value);
            Volatile.Write(ref MigrateEnableWork, true); // after the mask: a migrate_enable that sees this sees the mask
        }
    }

    /// <summary>A spawn's mask: nothing is pinned yet, so no migrate_enable has anything to look at.</summary>
    private void SetSpawnAffinity(CpuSet mask)
    {
        SetAffinityFields(mask);
        MigrateEnableWork = false; // a cached task's last life may have left it set
    }

    private void SetAffinityFields(CpuSet mask)
    {
        _wake.AffinityMask = mask;
        SoleCpu = mask.Sole;
    }

    /// <summary>
    /// Set when the outermost <c>migrate_enable()</c> has more to do than unpin: the affinity changed
    /// (it may now exclude the CPU), MDF_PUSH is pending, or a migrate-disable trace is open. The
    /// kernel's test there is <c>p->cpus_ptr != &amp;p->cpus_mask</c>; this one flag spares the common
    /// enable the affinity, push and trace checks. That enable clears it before it looks.
    /// </summary>
    internal bool MigrateEnableWork;

    /// <summary>The one CPU <see cref="AffinityMask"/> allows, or −1 when it allows several (nr_cpus_allowed > 1).</summary>
    internal int SoleCpu
    {
        get => _wake.SoleCpu;
        private set => _wake.SoleCpu = checked((short)value);
    }

    /// <summary>
    /// The task's place in its CPU's <see cref="TimerQueue"/> plus one while it sleeps there, else 0
    /// (the kernel's <c>timerqueue_node</c> in the task's hrtimer); written under that CPU's lock.
    /// </summary>
    internal int TimerSlot;

    /// <summary>task_cpu(): the CPU the task runs on, is queued on, or last ran on.</summary>
    internal ref Cpu? Cpu => ref _wake.Cpu;

    // ---- run state (see TaskRunState) ----

    internal ref byte Run => ref _wake.Run;

    internal ref byte WakeWhileRunning => ref _wake.WakeWhileRunning;

    // ---- the single flow of control ----

    /// <summary>
    /// The continuation a runtime awaitable captured: an <see cref="Action"/>, or the state machine box
    /// an async method builder handed a ValueTask source, run by <see cref="BuilderInvoker"/> (no
    /// 64-byte <see cref="Action"/> to the box). Before the first step: the spawner's
    /// <see cref="ExecutionContext"/> to start the body under, or null (<see cref="StartUnder"/>).
    /// </summary>
    internal object? Continuation;

    /// <summary>True when <see cref="Continuation"/> may run (preempted, yielded, or woken from a block).</summary>
    internal ref bool ContinuationReady => ref _wake.ContinuationReady;

    /// <summary>What the last runtime awaitable asked for.</summary>
    internal ref SuspendReason Reason => ref _wake.Reason;

    /// <summary>The wait the task is blocked on (a timer or a wait queue), for cancellation.</summary>
    internal IWaitSource? BlockedOn;

    /// <summary>Set when a wait ended by cancellation rather than by its event.</summary>
    internal bool WaitCancelled;

    /// <summary>
    /// The <see cref="RtEvent.Reset"/>s its auto-reset event had counted (modulo 256) when it granted this
    /// task its signal: a grant given back unused (the task ended before it resumed to take it) restores
    /// the signalled state only when no Reset came since. While the task waits, the Resets counted when it
    /// was listed: a grant given back after a later Reset goes to it only if it waited before that Reset.
    /// Written under the event's gate at the grant and at the listing, read there at the give-back. A byte: the task's small fields share 8-byte words (a grant given back
    /// exactly a multiple of 256 Resets later would be taken for one with no Reset since).
    /// </summary>
    internal byte GrantResets;

    /// <summary>Continuations posted through the task's SynchronizationContext (a Treiber stack).</summary>
    internal PostedWork? Posted;

    // ---- guards ----

    /// <summary>preempt_count (preemption bits).</summary>
    internal int PreemptCount; // at most PreemptGuard.MaxDepth (255); an int: a byte's read-modify-write doubled a guard pair's cost (docs/benchmarks.md)

    /// <summary>p->migration_disabled: at most MigrateGuard.MaxDepth (32767); an int, as PreemptCount.</summary>
    internal ref int MigrationDisabled => ref _wake.MigrationDisabled;

    /// <summary>Bumped when a BUG report resets the depths, so guards taken before become no-ops.</summary>
    internal ushort GuardEpoch; // wraps after 65,536 resets: a guard taken that many resets ago would match again

    /// <summary>Serial of the last guard taken (each guard gets a unique token).</summary>
    internal int GuardSerial;

    /// <summary>Token of the innermost live preempt guard (0: none); guards must be disposed innermost first.</summary>
    internal int PreemptTop;

    /// <summary>Token of the innermost live migrate guard (0: none).</summary>
    internal int MigrateTop;

    /// <summary>
    /// Non-zero once cancellation is requested: <see cref="CancelRequested"/>, set from any thread (0 to
    /// 1 only), or <see cref="CancelDeferred"/>, set by the task's own preemption point. Volatile, and it
    /// must stay so: a task loop that polls <see cref="TaskContext.IsCancellationRequested"/> with no call
    /// in its body would otherwise have the load made once, before the loop, by the JIT, and never see
    /// the cancel (CancellationTests.IsCancellationRequested_InALoopWithoutCalls_IsSeenWhenCancelled).
    /// </summary>
    internal volatile byte CancelFlag;

    /// <summary><see cref="CancelFlag"/>: cancellation requested.</summary>
    internal const byte CancelRequested = 1;

    /// <summary>
    /// <see cref="CancelFlag"/>: requested, and a preemption point found it together with other work (a
    /// switch, timers, queued wakeups), did the work and let the task go on. The next point that finds
    /// the cancellation throws it before any work, so that a task finding work at every point (it wakes
    /// a higher task before each, or passes each after its RR slice) still ends cancelled. Written only
    /// by the task's own points (its CPU thread), and only while the flag is non-zero, which no other
    /// thread changes then. A value of the flag rather than a field of its own: the task object stays
    /// 232 bytes.
    /// </summary>
    internal const byte CancelDeferred = 2;

    /// <summary>The runtime's strict checks, copied here so the preemption point reads one object.</summary>
    internal readonly bool StrictChecks;

    /// <summary>
    /// The whole preemption-point fast check, one word (the kernel's TIF flags of <c>current</c>):
    /// the CPU's <see cref="PendingWork"/> bits mirrored while the task runs (TIF_NEED_RESCHED and
    /// friends), <see cref="GateCancel"/> once cancellation is requested, and <see cref="GateOffCpu"/>
    /// whenever the task is not running on its CPU (so a continuation that escaped with
    /// ConfigureAwait(false) takes the slow path, which throws), and <see cref="GateStrict"/> for
    /// ever under strict checks (every preemption point then tests the calling thread). Changed with
    /// Interlocked only. The CPU's own pending word is the truth; these bits are a hint to take the
    /// slow path.
    /// </summary>
    internal int Gate; // set by the constructor: off-CPU, and strict under strict checks

    internal const int GateCancel = 8;
    internal const int GateOffCpu = 16;
    internal const int GateStrict = 128;

    /// <summary>The gate bits that do not ask for a switch: off-CPU and strict checks.</summary>
    internal const int GateNoSwitch = GateOffCpu | GateStrict;

    /// <summary>The gate bits that do not make a switch due yet: <see cref="GateNoSwitch"/> and a near timer still polled (<see cref="Cpus.PendingWork.TimerSoon"/>).</summary>
    internal const int GateNotDue = GateNoSwitch | Cpus.PendingWork.TimerSoon;

    /// <summary>What most tasks never use, or null (see <see cref="Rare"/>).</summary>
    internal RtTaskRare? RareOrNull => Volatile.Read(ref _rare);

    /// <summary>What most tasks never use, allocated on first use (by any thread).</summary>
    internal RtTaskRare Rare => Volatile.Read(ref _rare) ?? CreateRare();

    private RtTaskRare? _rare;

    /// <summary>Where work posted after the task ended goes (made on first use, by any thread).</summary>
    internal PostedAfterExit AfterExit
    {
        get
        {
            RtTaskRare rare = Rare;
            return Volatile.Read(ref rare.AfterExit) ?? Interlocked.CompareExchange(ref rare.AfterExit, new PostedAfterExit(this), null) ?? rare.AfterExit;
        }
    }

    /// <summary>
    /// When a sampled wakeup made this task runnable, until it runs: the low 32 bits of the
    /// <see cref="RtClock"/> ns, with the lowest bit set (never 0); 0 when not sampled. The latency is
    /// the 32-bit difference, exact below 2.1 s. Here and not in <see cref="RtTaskRare"/>: a
    /// rare-state object per sampled spawn made the wakeup-latency histogram cost 13 % of
    /// spawn-and-run (RtProbe observe); 32 bits keep the task at 232 bytes. The waker writes it, so it
    /// lives with the other fields a wakeup touches (<see cref="TaskWakeFields"/>), where it fills what
    /// was padding.
    /// </summary>
    internal ref int WokenAtNs => ref _wake.WokenAtNs;

    private RtTaskRare CreateRare()
    {
        var created = new RtTaskRare();
        return Interlocked.CompareExchange(ref _rare, created, null) ?? created;
    }

    /// <summary>In the runtime's registry (since it first blocked); written by its CPU thread before it blocks.</summary>
    internal bool Registered;

    // ---- run-queue and registry links (intrusive, no allocation) ----

    internal ref RtTask? RqNext => ref _wake.RqNext;
    internal RtTask? RqPrev;

    /// <summary>Counted pushable by the run queue it is on (its affinity allowed another CPU at enqueue).</summary>
    internal ref bool QueuedPushable => ref _wake.QueuedPushable;

    internal ref RtTask? WaitNext => ref _wake.WaitNext;

    internal ref RtTask? WaitPrev => ref _wake.WaitPrev;
    internal RtTask? AllNext;
    internal RtTask? AllPrev;

    // ---- counters ----

    internal long SwitchCount;
    internal long PreemptionCount;
    internal long MigrationCount;

    // Written only by the task's CPU thread in its steps (and by Reincarnate before the task is published):
    // whether the body has started, and whether a sleep or wait source has blocked the flow (its
    // OnCompleted took the block) and not yet handed it the result. One byte for both: a field more
    // would make the task 8 bytes larger.
    private byte _flow;
    private const byte FlowStarted = 1;
    private const byte FlowBlockTaken = 2;

    /// <summary>
    /// The body's state, one field for its whole life (instead of five, to keep the task small): before
    /// the start, the body delegate; after it, null (it completed at once), the exception it threw or
    /// completed with, or the Task of a body still running; once the task ended, the outcome's
    /// exception or null (<see cref="OutcomeException"/>).
    /// </summary>
    private protected object? BodyState;

    /// <summary>Starts the body; returns true when it completed synchronously.</summary>
    private protected abstract bool StartBody();

    /// <summary>
    /// Has the body's first step run under <paramref name="context"/> (the spawner's; before the task is
    /// queued). It waits in the continuation slot, which holds nothing until the body first suspends:
    /// no allocation, and the task stays 232 bytes.
    /// </summary>
    internal void StartUnder(ExecutionContext context) => Continuation = context;

    /// <summary>The first step under the spawner's context (Step puts the CPU thread's own, none, back after it).</summary>
    private bool StartBodyIn(ExecutionContext spawner)
    {
        Continuation = null;
        ExecutionContext.Restore(spawner);
        return StartBody();
    }

    /// <summary>True once the body's task has completed (on or off CPU).</summary>
    private bool BodyCompleted => BodyState is not Task running || running.IsCompleted;

    /// <summary>Moves the body's outcome into the completion (called once, after <see cref="BodyCompleted"/>).</summary>
    private protected abstract void PublishBodyOutcome();

    /// <summary>
    /// Watches a body that may complete off CPU (after ConfigureAwait(false)): <see
    /// cref="RtScheduler.OnBodyCompletedOffCpu"/> runs on the thread that completes the body
    /// (ExecuteSynchronously), which tells an off-CPU completion from one on the task's CPU thread. An
    /// awaiter's continuation would not run there when that thread is the CPU's: its
    /// SynchronizationContext (the task) is not the default one, so the TPL queued the continuation to
    /// the ThreadPool, which took a body that completed on its CPU for one that completed off it and
    /// posted to the ending task (a needless <c>&lt;name&gt;/posted</c> task after its end). A body
    /// that completed off its CPU before this runs has the watcher run here, at once, on the CPU thread
    /// (<see cref="RtTaskRare.ArmingOffCpuWatch"/> tells it so).
    /// </summary>
    private void WatchBodyCompletion(RtTaskRare rare)
    {
        if (BodyState is Task body)
        {
            rare.ArmingOffCpuWatch = true;
            _ = body.ContinueWith(
                static (_, state) => ((RtTask)state!).Scheduler.OnBodyCompletedOffCpu((RtTask)state!),
                this,
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
            rare.ArmingOffCpuWatch = false;
        }
    }

    /// <summary>The body's task while the body runs asynchronously (it suspended and has not been published), else null.</summary>
    internal Task? RunningBody => BodyState as Task;

    /// <summary>True once the body started and completed (on or off CPU) and only its outcome is left to publish.</summary>
    internal bool HasCompletedBody => IsStarted && BodyCompleted;

    /// <summary>Publishes the body's outcome into the completion.</summary>
    internal void PublishOutcome() => PublishBodyOutcome();

    /// <summary>
    /// Runs one step of the task on the calling CPU thread: posted continuations first, then the
    /// ready continuation (or the body's start). Returns true when the body has completed.
    /// </summary>
    internal bool Step()
    {
        if (Volatile.Read(ref Posted) is not null)
        {
            // Posted work is a foreign await's continuation. If it suspends on a runtime awaitable,
            // that suspension is the dispatcher's to decide (a preemption point must be able to
            // switch): only a continuation that was ready before the posts may run in this step. A
            // body not started yet is ready (work posted to a task still queued used to leave it
            // blocked for good, its body never started).
            bool wasReady = ContinuationReady || !IsStarted;
            if (!wasReady)
            {
                Reason = SuspendReason.Foreign;
            }

            RunPosted();
            if (!wasReady)
            {
                return IsStarted && BodyCompleted;
            }
        }

        if (!IsStarted)
        {
            _flow |= FlowStarted;
            ContinuationReady = false;
            Reason = SuspendReason.Foreign;
            bool completed;
            try
            {
                completed = Continuation is ExecutionContext spawner ? StartBodyIn(spawner) : StartBody();
            }
            finally
            {
                // A synchronous body (not an async method, whose builder restores the context it
                // found) may have set an AsyncLocal or suppressed the flow on the CPU thread; that is
                // not the next task's (as the ThreadPool resets after each work item).
                RtScheduler.ResetCpuThreadContext();
            }

            if (completed)
            {
                return true;
            }
        }
        else if (ContinuationReady)
        {
            switch (BlockedOn)
            {
                // Woken by the unlock of a lock handed to it: it takes it now, or, robbed of it (a higher
                // task stole it meanwhile), it blocks again.
                case RtMutex mutex when !mutex.ClaimOrReblock(this):
                    return false;
                case PerCpu.LocalLockState local when !local.ClaimOrReblock(this):
                    return false;
            }

            object c = Continuation!;
            Continuation = null;
            ContinuationReady = false;
            Reason = SuspendReason.Foreign;
            if (c is Action action)
            {
                if (action.Target is Task)
                {
                    action(); // an async method's MoveNext (its box is a Task): it restores the context it found
                }
                else
                {
                    RunRawContinuation(action);
                }
            }
            else
            {
                BuilderInvoker.Instance(c);
            }
        }

        return BodyCompleted;
    }

    /// <summary>
    /// A continuation that is not an async method's (an Action handed to a runtime awaiter by hand, or
    /// a pooling builder's box): it may leave an AsyncLocal or a suppressed flow on the CPU thread, as a
    /// synchronous body or a raw post may, and that is not the next task's. Found by a review.
    /// </summary>
    private static void RunRawContinuation(Action action)
    {
        try
        {
            action();
        }
        finally
        {
            RtScheduler.ResetCpuThreadContext();
        }
    }

    private void RunPosted()
    {
        PostedWork? fifo = PostedWork.InPostedOrder(Interlocked.Exchange(ref Posted, null));
        try
        {
            while (fifo is not null)
            {
                PostedWork current = fifo;
                fifo = fifo.Next;
                try
                {
                    current.Callback(current.State);
                }
                catch
                {
                    // The task faults with this (RtScheduler.FaultFromStep); the posts after it are kept,
                    // ahead of anything posted since, for its end to forward to its after-exit queue.
                    Rare.PostedRest = fifo;
                    throw;
                }
            }
        }
        finally
        {
            RtScheduler.ResetCpuThreadContext(); // a raw callback may leave an AsyncLocal behind, as a synchronous body may
        }
    }

    /// <summary>
    /// Called by a runtime awaitable from OnCompleted, on this task's CPU thread; false when another
    /// flow of the task is already suspended on one (see <see cref="CanSuspend"/>): this continuation
    /// is then dropped and the task faults when its step ends.
    /// </summary>
    internal bool Suspend(Action continuation, SuspendReason reason)
    {
        if (!CanSuspend())
        {
            return false;
        }

        Capture(continuation, reason);
        return true;
    }

    /// <summary>
    /// <see cref="Suspend(Action, SuspendReason)"/> for a ValueTask source's continuation: the builders'
    /// invoker with its box is kept as the box alone; any other invoker (an awaiter completed by hand)
    /// is wrapped in an <see cref="Action"/>.
    /// </summary>
    internal bool Suspend(Action<object?> invoker, object? state, SuspendReason reason)
    {
        if (!CanSuspend())
        {
            return false;
        }

        Capture(invoker == BuilderInvoker.Instance && state is not (null or Action) ? state : Wrap(invoker, state), reason);
        return true;
    }

    // Its own method: a lambda in Suspend would make the compiler allocate its closure on every call.
    private static Action Wrap(Action<object?> invoker, object? state) => () => invoker(state);

    private void Capture(object continuation, SuspendReason reason)
    {
        Continuation = continuation;
        Reason = reason;
        ContinuationReady = reason != SuspendReason.Block;
    }

    /// <summary>
    /// True when the task may suspend: no other of its flows is suspended on a runtime awaitable (a
    /// task has one flow of control). Otherwise notes the misuse, which faults the task when this step
    /// ends: an exception thrown from OnCompleted would escape to the ThreadPool and end the process.
    /// An awaitable that takes something before it suspends (a permit, a lock) asks first.
    /// </summary>
    internal bool CanSuspend()
    {
        if (Continuation is null)
        {
            return true;
        }

        NoteFlowMisuse(ThrowHelper.ConcurrentFlows(this));
        return false;
    }

    /// <summary>Notes a misuse of the task's flow of control (the first one counts): the task faults with it when this step ends.</summary>
    internal void NoteFlowMisuse(InvalidOperationException misuse) => Rare.FlowMisuse ??= misuse;

    /// <summary>Pushes a continuation posted through the task's SynchronizationContext (the waker wakes the task).</summary>
    internal void PushPosted(SendOrPostCallback callback, object? state)
    {
        var work = new PostedWork(callback, state);
        PostedWork? head;
        do
        {
            head = Volatile.Read(ref Posted);
            work.Next = head;
        }
        while (Interlocked.CompareExchange(ref Posted, work, head) != head);
    }

    /// <summary>
    /// The step ended in a foreign suspension: arm a watcher so that a body which finishes off CPU
    /// (after ConfigureAwait(false)) is still finalised.
    /// </summary>
    internal void EnsureOffCpuWatch()
    {
        RtTaskRare rare = Rare;
        if (rare.OffCpuWatch)
        {
            return;
        }

        rare.OffCpuWatch = true;
        WatchBodyCompletion(rare);
    }

    internal bool IsStarted => (_flow & FlowStarted) != 0;

    /// <summary>
    /// A sleep or wait source's OnCompleted takes the block of the running flow (on the task's CPU
    /// thread). False when the last block a source took was resumed and its result never asked (no flow
    /// is suspended, yet the note is still there). With a flow suspended the note is that flow's, and
    /// this second block is refused as a second flow (<see cref="CanSuspend"/>).
    /// </summary>
    internal bool TryNoteBlockTaken()
    {
        if ((_flow & FlowBlockTaken) != 0 && Continuation is null)
        {
            return false;
        }

        _flow |= FlowBlockTaken;
        return true;
    }

    /// <summary>
    /// For a sleep or wait source's GetResult (on the task's CPU thread): true, once, for the result of
    /// the block a source took; false for a result asked of an awaiter that never blocked (made in an
    /// earlier step and not awaited) or asked again after its await.
    /// </summary>
    internal bool TakeBlockResult()
    {
        if ((_flow & FlowBlockTaken) == 0)
        {
            return false;
        }

        _flow &= unchecked((byte)~FlowBlockTaken);
        return true;
    }

    /// <summary>True when the calling thread is this task's CPU thread running this task.</summary>
    internal bool IsCurrent
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ReferenceEquals(Cpus.Cpu.CurrentTask, this);
    }

    /// <summary>Throws when the context is used off its CPU (e.g. after ConfigureAwait(false)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void ThrowIfNotCurrent()
    {
        if (!IsCurrent)
        {
            ThrowHelper.ThrowContextOffCpu(this);
        }
    }

    /// <summary>normal_prio: the priority index without PI boosting.</summary>
    internal int NormalPrio => Policy == SchedPolicy.Normal ? 0 : BasePriority;


    /// <summary>A pending ValueTask that suspends the task as a preemption point (for guards' DisposeAsync).</summary>
    internal ValueTask SwitchPointAsync() => (Rare.SwitchPoint ??= new SwitchPoint(this)).Arm();
}
