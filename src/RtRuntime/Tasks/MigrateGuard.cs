namespace RtRuntime.Tasks;

/// <summary>
/// A migrate-disabled section (<c>migrate_disable()</c> … <c>migrate_enable()</c>). Under
/// <see cref="PreemptionModel.Rt"/> the task may be preempted but stays on its CPU, which counts it
/// in <c>nr_pinned</c> (running, preempted or asleep) from the outermost disable to the outermost
/// enable. Under <see cref="PreemptionModel.NonRt"/> it is a preempt-disabled section. Dispose once,
/// in reverse order of taking.
/// </summary>
public readonly struct MigrateGuard : IDisposable, IAsyncDisposable
{
    /// <summary>The depth limit (the kernel warns at half its u16 counter).</summary>
    public const int MaxDepth = 32767;

    private readonly RtTask? _task;
    private readonly int _token;
    private readonly int _outer;
    private readonly int _epoch;
    private readonly bool _asPreempt;

    private MigrateGuard(RtTask task, int token, int outer, int epoch, bool asPreempt)
    {
        _task = task;
        _token = token;
        _outer = outer;
        _epoch = epoch;
        _asPreempt = asPreempt;
    }

    internal static MigrateGuard Enter(RtTask task)
    {
        if (task.Scheduler.Model == PreemptionModel.NonRt)
        {
            if (task.PreemptCount >= PreemptGuard.MaxDepth)
            {
                ThrowHelper.ThrowGuardOverflow("migrate_disable (as preempt_disable)", task, PreemptGuard.MaxDepth);
            }

            task.PreemptCount++;
            int outerPreempt = task.PreemptTop;
            int preemptToken = task.PreemptTop = ++task.GuardSerial;
            return new MigrateGuard(task, preemptToken, outerPreempt, task.GuardEpoch, asPreempt: true);
        }

        EnterUntracked(task);
        int outer = task.MigrateTop;
        int token = task.MigrateTop = ++task.GuardSerial;
        return new MigrateGuard(task, token, outer, task.GuardEpoch, asPreempt: false);
    }

    /// <summary>
    /// <c>migrate_disable()</c> counted but without a guard's order token, for a section whose own
    /// object checks its pairing (a local lock checks its owner). Undo with <see cref="LeaveUntracked"/>.
    /// </summary>
    internal static void EnterUntracked(RtTask task)
    {
        if (task.MigrationDisabled >= MaxDepth)
        {
            ThrowHelper.ThrowGuardOverflow("migrate_disable", task, MaxDepth);
        }

        if (task.MigrationDisabled++ == 0)
        {
            task.Cpu!.PinTask(task);
        }
    }

    /// <summary><c>migrate_enable()</c> of an <see cref="EnterUntracked"/>: the outermost one unpins.</summary>
    internal static void LeaveUntracked(RtTask task)
    {
        if (--task.MigrationDisabled == 0)
        {
            task.Cpu!.UnpinTask(task);
        }
    }

    /// <summary><c>migrate_enable()</c>; a move it makes due (a deferred push or affinity change) happens at the next preemption point.</summary>
    public void Dispose() => Leave();

    /// <summary><c>migrate_enable()</c> followed by a preemption point when a switch or move is due.</summary>
    public ValueTask DisposeAsync()
    {
        RtTask task = Leave();
        return task.PreemptCount == 0 && (task.Gate & ~(RtTask.GateNotDue | RtTask.GateCancel)) != 0
            ? task.SwitchPointAsync()
            : default; // a pending cancellation alone is left to the next point (see SwitchPoint)
    }

    private RtTask Leave()
    {
        RtTask task = _task ?? throw ThrowHelper.GuardNotTaken("MigrateGuard", "TaskContext.MigrateDisable()");
        task.ThrowIfNotCurrent();
        if (_asPreempt)
        {
            if (_epoch != task.GuardEpoch)
            {
                return task; // the preempt depth was reset by a "scheduling while atomic" report; nothing to undo
            }

            if (task.PreemptTop != _token)
            {
                ThrowHelper.ThrowGuardOrder("migrate_enable (as preempt_enable)", task, task.PreemptCount);
            }

            task.PreemptTop = _outer;
            task.PreemptCount--;
            return task;
        }

        if (task.MigrateTop != _token)
        {
            ThrowHelper.ThrowGuardOrder("migrate_enable", task, task.MigrationDisabled);
        }

        task.MigrateTop = _outer;
        LeaveUntracked(task);
        return task;
    }
}
