using System.Runtime.CompilerServices;

namespace RtRuntime.Tasks;

/// <summary>
/// The awaitable of <see cref="TaskContext.PreemptionPoint"/>. Fast path: one load (the task's gate
/// word), no allocation.
/// </summary>
public readonly struct PreemptionPointAwaitable : ICriticalNotifyCompletion
{
    private readonly RtTask _task;

    internal PreemptionPointAwaitable(RtTask task) => _task = task;

    /// <summary>Returns this awaitable.</summary>
    public PreemptionPointAwaitable GetAwaiter() => this;

    /// <summary>True when no switch is due (or the task is preempt-disabled) and no cancellation is pending.</summary>
    public bool IsCompleted
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            // A plain load: the JIT cannot keep it out of a loop, since the loop holds the slow path's
            // call (unlike NeedResched, whose read must be volatile).
            RtTask t = _task;
            return t.Gate == 0 || SlowIsCompleted(t);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool SlowIsCompleted(RtTask t)
    {
        t.ThrowIfNotCurrent(); // the off-CPU bit sends an escaped continuation here, the strict bit every point
        int gate = t.Gate & ~RtTask.GateStrict;
        if (gate == 0)
        {
            return true;
        }

        if (gate == Cpus.PendingWork.TimerSoon)
        {
            // Near but not due (the clock was read, or the point passed on the lead's countdown):
            // nothing to do yet. Due: the slow path fires it, preempt-disabled or not.
            return !t.Cpu!.NearTimerDue(t);
        }

        if (t.PreemptCount == 0 || t.CancelFlag != 0)
        {
            return false; // a switch may be due, or the cancellation is thrown
        }

        // Preempt-disabled: no switch, but the "interrupt" work still runs at the point, as the
        // kernel's IPIs and hrtimer interrupts are not masked by preempt_disable: queued wakeups
        // (which then set need_resched and become visible to other CPUs' pulls) and due timers.
        return (gate & (Cpus.PendingWork.WakeList | Cpus.PendingWork.Timer)) == 0
            && ((gate & Cpus.PendingWork.TimerSoon) == 0 || !t.Cpu!.NearTimerDue(t));
    }

    /// <summary>Throws <see cref="OperationCanceledException"/> when the task was cancelled and is preemptible.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void GetResult()
    {
        // The gate's cancel bit follows the cancel flag: a clear gate (the fast path) needs no second load.
        RtTask t = _task;
        if ((t.Gate & RtTask.GateCancel) != 0 && t.CancelFlag != 0)
        {
            RtScheduler.ThrowCancelled(t);
        }
    }

    /// <inheritdoc/>
    public void OnCompleted(Action continuation) => _ = _task.Suspend(continuation, SuspendReason.PreemptionPoint);

    /// <inheritdoc/>
    public void UnsafeOnCompleted(Action continuation) => _ = _task.Suspend(continuation, SuspendReason.PreemptionPoint);
}
