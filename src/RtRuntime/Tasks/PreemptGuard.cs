namespace RtRuntime.Tasks;

/// <summary>
/// A preempt-disabled section (<c>preempt_disable()</c> … <c>preempt_enable()</c>). Nestable up to 255
/// (the kernel's 8-bit depth). Dispose once, in reverse order of taking: disposing twice or out of
/// order throws. With <c>await using</c>, leaving the outermost section with a switch pending switches
/// right there, as <c>preempt_enable()</c> does.
/// </summary>
public readonly struct PreemptGuard : IDisposable, IAsyncDisposable
{
    /// <summary>The kernel's preemption-depth limit (8 bits).</summary>
    public const int MaxDepth = 255;

    private readonly RtTask? _task;
    private readonly int _token;
    private readonly int _outer;
    private readonly int _epoch;

    private PreemptGuard(RtTask task, int token, int outer, int epoch)
    {
        _task = task;
        _token = token;
        _outer = outer;
        _epoch = epoch;
    }

    internal static PreemptGuard Enter(RtTask task)
    {
        EnterUntracked(task);
        int outer = task.PreemptTop;
        int token = task.PreemptTop = ++task.GuardSerial;
        return new PreemptGuard(task, token, outer, task.GuardEpoch);
    }

    /// <summary>
    /// <c>preempt_disable()</c> counted but without a guard's order token, for a section whose own
    /// object checks its pairing (a local lock checks its owner) and undoes it.
    /// </summary>
    internal static void EnterUntracked(RtTask task)
    {
        if (task.PreemptCount >= MaxDepth)
        {
            ThrowHelper.ThrowGuardOverflow("preempt_disable", task, MaxDepth);
        }

        task.PreemptCount++;
    }

    /// <summary><c>preempt_enable()</c>: the switch, if one is due, happens at the next preemption point.</summary>
    public void Dispose() => Leave();

    /// <summary><c>preempt_enable()</c> as a preemption point: switches at once if this was the outermost section and a switch is due.</summary>
    public ValueTask DisposeAsync()
    {
        RtTask task = Leave();
        return task.PreemptCount == 0 && (task.Gate & ~(RtTask.GateNotDue | RtTask.GateCancel)) != 0
            ? task.SwitchPointAsync()
            : default; // a pending cancellation alone is left to the next point (see SwitchPoint)
    }

    private RtTask Leave()
    {
        RtTask task = _task ?? throw ThrowHelper.GuardNotTaken("PreemptGuard", "TaskContext.PreemptDisable()");
        task.ThrowIfNotCurrent();
        if (_epoch != task.GuardEpoch)
        {
            return task; // the depth was reset by a "scheduling while atomic" report; nothing to undo
        }

        if (task.PreemptTop != _token)
        {
            ThrowHelper.ThrowGuardOrder("preempt_enable", task, task.PreemptCount);
        }

        task.PreemptTop = _outer;
        task.PreemptCount--;
        return task;
    }
}
