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
            RtTask t = _task;
            return t.Gate == 0 || SlowIsCompleted(t);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool SlowIsCompleted(RtTask t)
    {
        t.ThrowIfNotCurrent(); // the off-CPU bit sends an escaped continuation here, the strict bit every point
        int gate = t.Gate & ~RtTask.GateStrict;
        if (gate == Cpus.PendingWork.TimerSoon && !t.Cpu!.NearTimerDue(t))
        {
            return true; // a timer is near but not due (the clock was read, or the point passed on the lead's countdown): nothing to switch for yet
        }

        return gate == 0 || (t.PreemptCount != 0 && t.CancelFlag == 0);
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
    public void OnCompleted(Action continuation) => _task.Suspend(continuation, SuspendReason.PreemptionPoint);

    /// <inheritdoc/>
    public void UnsafeOnCompleted(Action continuation) => _task.Suspend(continuation, SuspendReason.PreemptionPoint);
}
