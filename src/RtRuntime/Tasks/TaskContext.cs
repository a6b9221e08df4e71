using System.Runtime.CompilerServices;
using RtRuntime.Cpus;

namespace RtRuntime.Tasks;

/// <summary>
/// What a task body sees of itself: the kernel's <c>current</c>. Every member must be used on the
/// task's CPU thread while the task runs; a continuation that escaped with
/// <c>ConfigureAwait(false)</c> gets an <see cref="InvalidOperationException"/> saying so. A default
/// <c>TaskContext</c> belongs to no task: on a task's CPU, the members that check the calling thread
/// (the guards, <see cref="Yield"/>, the sleeps, <see cref="CpuId"/>) and every API that takes a
/// context refuse it, saying so; the one-load members (<see cref="NeedResched"/>, the depths,
/// <see cref="IsPreemptible"/>, <see cref="IsCancellationRequested"/>, <see cref="RawCpuId"/>, and
/// <see cref="PreemptionPoint"/> once awaited) do not test for it and throw
/// <see cref="NullReferenceException"/>; <see cref="Task"/> returns null. Off a CPU thread the
/// members that check the calling thread throw <see cref="NullReferenceException"/> on it too.
/// </summary>
public readonly struct TaskContext
{
    private readonly RtTask _task;

    internal TaskContext(RtTask task) => _task = task;

    /// <summary>The task's handle.</summary>
    public RtTask Task => _task;

    /// <summary>
    /// The task, once the calling thread is known to run it (the exact thread check), for this
    /// context's members (<paramref name="paramName"/> null) or an API that takes it as its argument
    /// <paramref name="paramName"/>. A default context fails that check on a CPU thread, and is then
    /// refused (<see cref="InvalidOperationException"/>, or <see cref="ArgumentException"/> naming the
    /// argument). No null test is added to the hot path: one there kept the JIT from hoisting the
    /// check out of a caller's loop, and the test replaces the null check of a call on the task.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal RtTask CurrentTaskOf(string? paramName)
    {
        RtTask task = _task;
        if (!ReferenceEquals(Cpu.CurrentTask, task))
        {
            ThrowHelper.ThrowContextOffCpuOrDefault(task, paramName);
        }

        return task;
    }

    /// <summary>True once cancellation was requested (the task's token, <see cref="RtTask.Cancel"/>, or shutdown).</summary>
    public bool IsCancellationRequested => _task.CancelFlag != 0;

    /// <summary>
    /// The id of the CPU the task runs on: the kernel's <c>smp_processor_id()</c>. Only stable while
    /// preempt- or migrate-disabled (or bound to one CPU); otherwise it is the DEBUG_PREEMPT BUG "using
    /// smp_processor_id() in preemptible code" (reported; thrown in strict mode). Use
    /// <see cref="RawCpuId"/> for a hint that may be stale at once.
    /// </summary>
    public int CpuId
    {
        get
        {
            RtTask task = CurrentTaskOf(null);
            // Silent under either guard, or for a per-CPU task (is_percpu_thread: affinity of one CPU).
            if (task.PreemptCount == 0 && task.MigrationDisabled == 0 && task.AffinityMask.Count != 1)
            {
                task.Scheduler.ReportBug(task, BugKind.ProcessorIdInPreemptible, "using smp_processor_id()");
            }

            return task.Cpu!.Id;
        }
    }

    /// <summary>The CPU id without the preemptible check (the kernel's <c>raw_smp_processor_id()</c>).</summary>
    public int RawCpuId => _task.Cpu?.Id ?? -1;

    /// <summary>The preempt-disable depth.</summary>
    public int PreemptDepth => _task.PreemptCount;

    /// <summary>The migrate-disable depth.</summary>
    public int MigrateDisableDepth => _task.MigrationDisabled;

    /// <summary>True when the task may be switched out at a preemption point (preempt depth 0).</summary>
    public bool IsPreemptible => _task.PreemptCount == 0;

    /// <summary>
    /// <c>need_resched()</c>: true when the next <see cref="PreemptionPoint"/> would do more than its one
    /// load: a switch, a timer, a push request or cancellation is pending (also when the context is used
    /// off its CPU, and always under strict checks, so that every point tests the calling thread). One
    /// load, no await: a hot loop tests it in synchronous code, where its locals stay in registers, and
    /// awaits <see cref="PreemptionPoint"/> only when it is true, as kernel loops call
    /// <c>cond_resched()</c> after <c>need_resched()</c> (docs/semantics.md, "Preemption points in hot loops").
    /// The load is volatile (on x64 still one plain <c>mov</c>): a loop whose body makes no call would
    /// otherwise have it made once, before the loop, by the JIT, and never see the flag set.
    /// </summary>
    public bool NeedResched
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref _task.Gate) != 0;
    }

    /// <summary>
    /// A preemption point (<c>cond_resched()</c>): completes synchronously with no allocation unless a
    /// switch, a timer or a push request is pending and the task is preemptible. A cancellation pending
    /// when the point is reached is thrown there, unless the point has other work to do first (a
    /// switch, timers, queued wakeups): then it is thrown at the task's next point, whatever that point
    /// finds pending. One that arrives while the task waits at the point for its CPU (switched out for a
    /// higher task) is thrown at the task's next point (or, if that one has work, at the one after).
    /// </summary>
    /// <exception cref="InvalidOperationException">Used off the task's CPU (always detected in strict mode).</exception>
    /// <exception cref="OperationCanceledException">The task was cancelled.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public PreemptionPointAwaitable PreemptionPoint()
    {
        // Off-CPU use is caught by the task's gate bit once the dispatcher has seen the task leave; a
        // continuation that escaped while its CPU thread was still finishing the step is caught only
        // by the exact thread check, which strict mode's gate bit sends every point to.
        return new PreemptionPointAwaitable(_task);
    }

    /// <summary><c>sched_yield()</c>: go to the tail of the task's priority on its CPU. Throws when preempt-disabled (scheduling while atomic).</summary>
    public YieldAwaitable Yield()
    {
        RtTask task = CurrentTaskOf(null);
        task.Scheduler.ThrowIfAtomic(task, "Yield");
        return new YieldAwaitable(task);
    }

    /// <summary>
    /// <c>sched_setparam()</c> on itself: the task's own priority (<see cref="RtTask.BasePriority"/>)
    /// becomes <paramref name="priority"/>, and its effective priority the higher of that and any
    /// priority-inheritance boost it holds (a boost is kept until its local lock is released). Takes
    /// effect at once for placement and balancing; a switch it makes due (a queued task of this CPU now
    /// outranks it) happens at the task's next preemption point, as any need_resched does. A task that
    /// lowers itself also has the rebalancer look for a task waiting on another CPU that may now run on
    /// this one (the kernel's pull on a priority drop). Its policy stays; a Normal task has no RT
    /// priority to set.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="priority"/> is outside 1..99 (0 is accepted for a Normal task: it changes nothing, as sched_setparam's 0 for SCHED_OTHER).</exception>
    /// <exception cref="InvalidOperationException">The task's policy is <see cref="SchedPolicy.Normal"/>, or the context is used off its CPU.</exception>
    public void SetPriority(int priority)
    {
        RtTask task = CurrentTaskOf(null);
        task.Scheduler.SetOwnPriority(task, priority);
    }

    /// <summary>
    /// <c>sched_setscheduler()</c> on itself: the task's policy becomes <paramref name="policy"/> and its
    /// own priority <paramref name="priority"/> (1..99 for Fifo and RoundRobin, 0 for Normal), with
    /// <see cref="SetPriority"/>'s rules; becoming round-robin starts a full slice, leaving it stops the
    /// rotation.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The policy is not one of the three, or the priority does not fit it.</exception>
    /// <exception cref="InvalidOperationException">The context is used off its CPU.</exception>
    public void SetScheduler(SchedPolicy policy, int priority)
    {
        RtTask task = CurrentTaskOf(null);
        task.Scheduler.SetOwnScheduler(task, policy, priority);
    }

    /// <summary>
    /// Sleeps for <paramref name="duration"/> (high resolution). Throws when preempt-disabled (scheduling
    /// while atomic). <see cref="TimeSpan.Zero"/> (a deadline already passed) completes at once, with no
    /// switch, unless work is pending on the CPU (<see cref="SleepAwaitable.GetAwaiter"/>): then the task
    /// blocks and its timer wakes it at once. The simulator's <c>{"sleep": 0}</c> does the same.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The duration is negative (<see cref="Timeout.InfiniteTimeSpan"/> too: sleep <see cref="TimeSpan.MaxValue"/> to sleep until cancelled).</exception>
    public SleepAwaitable Sleep(TimeSpan duration)
    {
        if (duration < TimeSpan.Zero)
        {
            // Timeout.InfiniteTimeSpan is -1 ms: refused like any negative, but the message says what sleeps forever.
            throw new ArgumentOutOfRangeException(nameof(duration), duration, "duration must be zero or positive; to sleep until cancelled, use TimeSpan.MaxValue (Timeout.InfiniteTimeSpan is -1 ms, refused like any negative duration).");
        }

        long now = RtClock.NowNs();
        long ns = RtClock.ToNs(duration);
        return SleepUntil(ns >= long.MaxValue - now ? long.MaxValue : now + ns); // TimeSpan.MaxValue: until cancelled
    }

    /// <summary>Sleeps until <paramref name="deadlineNs"/> on the <see cref="RtClock"/> (absolute, for drift-free periodic tasks).</summary>
    public SleepAwaitable SleepUntil(long deadlineNs)
    {
        RtTask task = CurrentTaskOf(null);
        task.Scheduler.ThrowIfAtomic(task, "Sleep");
        return new SleepAwaitable(task, deadlineNs);
    }

    /// <summary>
    /// <c>preempt_disable()</c>: until the guard is disposed, no preemption point switches the task out.
    /// Dispose with <c>await using</c> to make the outermost enable a preemption point (the kernel's
    /// <c>preempt_enable()</c> reschedules at once); a plain <c>using</c> defers the switch to the next point.
    /// </summary>
    public PreemptGuard PreemptDisable()
    {
        return PreemptGuard.Enter(CurrentTaskOf(null));
    }

    /// <summary>
    /// <c>migrate_disable()</c>: the task may still be preempted but never leaves its CPU until the guard
    /// is disposed. Under <see cref="PreemptionModel.NonRt"/> it is exactly <see cref="PreemptDisable"/>.
    /// </summary>
    public MigrateGuard MigrateDisable()
    {
        return MigrateGuard.Enter(CurrentTaskOf(null));
    }
}
