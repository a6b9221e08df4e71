using RtRuntime.Scheduling;
using RtRuntime.Tasks;

namespace RtRuntime.Cpus;

/// <summary>
/// Timer anticipation (<see cref="RtSchedulerOptions.AnticipateTimers"/>): a busy CPU cannot be
/// interrupted, so a sleeper whose deadline falls between two preemption points of the running task
/// would wait for the second. While the timer lead has the points reading the clock, the point whose
/// successor would come after the deadline (judged by the shorter of the task's last two point gaps)
/// stops the task there, and the CPU spins to the deadline; the timer then fires on time and the sleeper
/// preempts the task. Only the CPU's own thread uses these fields.
/// </summary>
internal sealed partial class Cpu
{
    // When the running task's last clock-reading point passed, and this CPU's switch count then.
    private long _pointNs;
    private long _pointSwitches = -1;

    // The shorter of the last two gaps between two such points of one task with no switch between (one
    // gap stretched by an OS or VM interruption does not count), the last gap, and that task's id: kept
    // across switches, so a task preempted at every deadline still has its gap known.
    private long _gapNs;
    private long _lastGapNs;
    private long _gapTaskId;

    // The sleeper deadline a point was last sent to the slow path for (each is anticipated once).
    private long _anticipatedNs;

    // The deadline the next slow path spins to, or 0.
    private long _spinToNs;

    /// <summary>Deadlines this CPU spun to (the running task stopped at the point before them).</summary>
    public long TimerSpins;

    /// <summary>Time this CPU spent spinning to anticipated deadlines, in ns.</summary>
    public long TimerSpinNs;

    // The lead's countdown: points to pass without reading the clock, counted for the run (switch
    // count) they were computed in; and the points passed since the last read.
    private int _skipPoints;
    private long _skipSwitches = -1;
    private int _pointsSinceRead;

    /// <summary>
    /// True when this point may pass on the countdown instead of reading the clock: the earliest timer
    /// was, at the last read, more than twice the task's point gap away per point left to skip (see
    /// <see cref="CountPointsBeforeNextRead"/>), and no switch happened since. A point stretched
    /// by the OS can make the countdown overshoot; the <c>rt/timer</c> thread's Timer bit at its backstop,
    /// 25 µs after the deadline (<see cref="Scheduling.TimerRules.ForBusyCpu"/>), then fires the timer.
    /// </summary>
    private bool SkipsClockRead()
    {
        if (_skipPoints > 0 && _skipSwitches == ContextSwitches)
        {
            _skipPoints--;
            _pointsSinceRead++;
            return true;
        }

        return false;
    }

    /// <summary>
    /// After a clock read that found nothing due, <paramref name="leftNs"/> before the earliest timer:
    /// the points to pass before the next read, covering half that time at <paramref name="gapNs"/> per
    /// point (less one), so the reads come at halving distances and every point reads the clock in the
    /// last two gaps, where anticipation needs it. Reading the clock costs ~25 ns here; a task passing a
    /// point every 40 ns would otherwise spend most of the lead reading it.
    /// </summary>
    private void CountPointsBeforeNextRead(long leftNs, long gapNs)
    {
        long points = gapNs is > 0 and < long.MaxValue ? (leftNs / 2 / gapNs) - 1 : 0;
        _skipPoints = points > 0 ? (int)Math.Min(points, int.MaxValue) : 0;
        _skipSwitches = ContextSwitches;
    }

    /// <summary>
    /// Points at least this far apart make a timer cheap to poll however far away it is
    /// (<see cref="PollsTimer"/>): the countdown costs such a task ~3 ns per point, under 0.1 % of its
    /// time (at 1 µs it would be 0.3 %, over the 0.2 % the preemption point may add at one point per µs).
    /// </summary>
    internal const long SparsePointGapNs = 5_000;

    /// <summary>
    /// Whether this CPU polls its earliest timer now (its TimerSoon bit), judged on its own thread: with
    /// a timer lead, when the timer is within it at <paramref name="now"/>, or, however far away it
    /// is, when the running task's points are known to come at least
    /// <see cref="SparsePointGapNs"/> apart. For such a task, polling from the switch-in on costs little,
    /// and its timer then never waits for <c>rt/timer</c>'s OS wakeup at the lead's start, which in this
    /// VM kind's bad phases came later than the 200 µs lead in 1.6–4.1 % of wakeups
    /// (perf/probes/tickgaps.c). A task with denser points, or none measured yet, polls from the lead's
    /// start, which <c>rt/timer</c> flags.
    /// </summary>
    private bool PollsTimer(long now) => HasTimerToPoll() && (RunsSparsePoints() || Scheduler.HrTimer.IsNear(this, now));

    /// <summary>
    /// <see cref="PollsTimer"/> at a switch-in, where no clock has been read: true for a task with sparse
    /// points when any timer is armed, and for a sleeper deadline newly armed within the lead (a sleep
    /// shorter than the lead, armed while the CPU was busy). One clock read per new earliest sleeper
    /// deadline, not one per switch: a deadline found beyond the lead is remembered, and
    /// <c>rt/timer</c> starts its lead, as it starts an RR slice's (re-armed at every round-robin
    /// switch-in, so not judged here).
    /// </summary>
    private bool PollsTimerAtSwitchIn()
    {
        if (!HasTimerToPoll())
        {
            return false;
        }

        if (RunsSparsePoints())
        {
            return true;
        }

        long sleeper = NextDeadline;
        if (sleeper == long.MaxValue || sleeper == _sleeperBeyondLead)
        {
            return false;
        }

        if (sleeper - Scheduler.HrTimer.LeadNs <= RtClock.NowNs())
        {
            return true;
        }

        _sleeperBeyondLead = sleeper;
        return false;
    }

    // The last sleeper deadline PollsTimerAtSwitchIn found beyond the lead.
    private long _sleeperBeyondLead = long.MaxValue;

    /// <summary>Busy CPUs poll from a lead, and this CPU has a timer (a sleeper or an RR slice).</summary>
    private bool HasTimerToPoll() => Scheduler.HrTimer.HasLead && EarliestTimer != long.MaxValue;

    /// <summary>The running task's points are known to come at least <see cref="SparsePointGapNs"/> apart.</summary>
    private bool RunsSparsePoints() => _pri.Running is { } task && _gapTaskId == task.Id && _gapNs >= SparsePointGapNs;

    /// <summary>
    /// Notes a point of <paramref name="task"/> that read the clock at <paramref name="now"/>; returns the
    /// task's last gap between two points, or <see cref="long.MaxValue"/> when none is known.
    /// </summary>
    private long NotePoint(RtTask task, long now)
    {
        int points = _pointsSinceRead + 1; // points passed on the countdown since the last read, and this one
        _pointsSinceRead = 0;
        if (ContextSwitches == _pointSwitches)
        {
            long gap = (now - _pointNs) / points; // the same run of the same task: nothing else ran between
            _gapNs = _gapTaskId == task.Id ? Math.Min(gap, _lastGapNs) : gap;
            _lastGapNs = gap;
            _gapTaskId = task.Id;
        }

        _pointNs = now;
        _pointSwitches = ContextSwitches;
        return _gapTaskId == task.Id ? _gapNs : long.MaxValue;
    }

    /// <summary>
    /// For a point that reads the clock at <paramref name="now"/>, before this CPU's earliest timer:
    /// true when the next point, <paramref name="gapNs"/> away, would come after the earliest sleeper's
    /// deadline (a gap within the timer lead; once per deadline); the slow path then decides whether to
    /// spin to it (<see cref="SpinToAnticipatedTimer"/>).
    /// </summary>
    private bool AnticipatesTimer(long now, long gapNs)
    {
        long sleeper = NextDeadline;
        if (sleeper == _anticipatedNs || !TimerRules.PointAnticipates(now, gapNs, sleeper, Scheduler.AnticipateTimersNs))
        {
            return false;
        }

        _anticipatedNs = sleeper;
        _spinToNs = sleeper;
        return true;
    }

    /// <summary>
    /// The slow path of an anticipating point: when a sleeper due at the earliest deadline (any of
    /// them: they all wake then) will preempt <paramref name="task"/> here (this CPU is its previous
    /// one and its affinity holds it, it outranks everything on this CPU, and the task is preemptible
    /// and not migrate-disabled, so placement keeps the sleeper on this CPU:
    /// <see cref="TimerRules.SleeperWillPreempt"/>), spins until its deadline, or until other work is
    /// pending; the slow path then fires the timer.
    /// </summary>
    private void SpinToAnticipatedTimer(RtTask task)
    {
        long deadline = _spinToNs;
        _spinToNs = 0;
        if (task.PreemptCount != 0 || task.CancelFlag != 0 || !NearSleeperPreempts(task, deadline))
        {
            return;
        }

        long start = RtClock.NowNs();
        if (start >= deadline)
        {
            return;
        }

        long now = start;
        while (now < deadline && (Pending & ~PendingWork.TimerSoon) == 0 && task.CancelFlag == 0)
        {
            Thread.SpinWait(1);
            now = RtClock.NowNs();
        }

        if (now > start)
        {
            TimerSpins++;
            TimerSpinNs += now - start;
        }
    }

    private bool NearSleeperPreempts(RtTask task, long deadline)
    {
        using (Lock.EnterScope())
        {
            // Every sleeper due at that deadline wakes then, not only the first armed: the highest of
            // those that wake here decides (a lower one armed first used to hide it).
            int top = _timers.NextExpiry == deadline ? _timers.TopPrioDueFirst(this) : -1;
            return TimerRules.SleeperWillPreempt(top, top >= 0, task.Prio, Rq.HighestPriority, task.MigrationDisabled != 0);
        }
    }
}
