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

    /// <summary>
    /// True when no switch is due (or the task is preempt-disabled); false when the point must switch,
    /// fire timers or take queued wakeups. Throws <see cref="OperationCanceledException"/> when the task
    /// was cancelled and nothing else is pending, or when the task's last point put the cancellation
    /// off for its own work (a point defers a cancellation once, never twice in a row).
    /// </summary>
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
        if ((gate & RtTask.GateCancel) != 0 && t.Scheduler.Reaping)
        {
            // The stop's grace has passed and the task still runs (it caught its cancellation and went
            // on): its CPU ends it here, without resuming it (Cpu.RunUntilSwitch). A throw from here
            // would never reach the dispatcher, and the stop would abandon the task.
            return false;
        }

        if ((gate & RtTask.GateCancel) != 0 && t.CancelFlag == RtTask.CancelDeferred)
        {
            // The last point put this cancellation off for its work: this one throws it first (the
            // work still pending stays in the gate for the next point). Else a task that finds work at
            // every point would never see its cancellation thrown.
            t.CancelFlag = RtTask.CancelRequested;
            RtScheduler.ThrowCancelled(t);
        }

        // What the point must do now. Preemptible: any pending bit but a near timer not yet due (a
        // switch may be due). Preempt-disabled: only the "interrupt" work, as the kernel's IPIs and
        // hrtimer interrupts are not masked by preempt_disable: queued wakeups (which then set
        // need_resched and become visible to other CPUs' pulls) and due timers. A near timer (the
        // clock was read, or the point passed on the lead's countdown) counts once it is due.
        int work = gate & (t.PreemptCount == 0
            ? ~(RtTask.GateCancel | Cpus.PendingWork.TimerSoon)
            : Cpus.PendingWork.WakeList | Cpus.PendingWork.Timer);
        if (work != 0 || ((gate & Cpus.PendingWork.TimerSoon) != 0 && t.Cpu!.NearTimerDue(t)))
        {
            if ((gate & RtTask.GateCancel) != 0)
            {
                t.CancelFlag = RtTask.CancelDeferred; // thrown at the next point, whatever it finds pending
            }

            return false; // the slow path does it, then the task goes on; a pending cancellation is thrown at the next point
        }

        if ((gate & RtTask.GateCancel) != 0)
        {
            RtScheduler.ThrowCancelled(t); // the gate's cancel bit follows the cancel flag
        }

        return true;
    }

    /// <summary>
    /// Nothing to do: a point throws a cancellation it finds pending from <see cref="IsCompleted"/>, so
    /// the fast path reads the gate once. A cancellation that arrives while the task waits at the point
    /// for its CPU, or that the point put off for other work, is thrown at its next point (as the
    /// kernel's <c>cond_resched()</c> returns without looking at signals).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void GetResult()
    {
    }

    /// <inheritdoc/>
    public void OnCompleted(Action continuation) => _ = _task.Suspend(continuation, SuspendReason.PreemptionPoint);

    /// <inheritdoc/>
    public void UnsafeOnCompleted(Action continuation) => _ = _task.Suspend(continuation, SuspendReason.PreemptionPoint);
}
