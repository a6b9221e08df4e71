using RtRuntime.Cpus;

namespace RtRuntime.Tasks;

/// <summary>
/// A periodic release schedule for one task's loop, with overrun accounting: the kernel's
/// <c>hrtimer_forward()</c> (which moves a periodic timer past now and returns how many periods it
/// skipped) and a periodic <c>timerfd</c> (whose read returns the expirations since the last one), as
/// cyclictest counts overruns. Releases stay on the phase of the first one: a late loop does not
/// drift, and it does not run a burst of catch-up iterations either.
/// </summary>
/// <remarks>
/// <code>
/// var period = new RtPeriod(TimeSpan.FromMicroseconds(100));
/// while (running)
/// {
///     long missed = await period.WaitAsync(ctx);  // 0 when the loop kept up
///     if (missed > 0) { /* degrade: the previous iterations overran */ }
///     // ... sample, compute, actuate ...
/// }
/// </code>
/// Used by one task at a time (not thread-safe).
/// </remarks>
public sealed class RtPeriod
{
    private readonly long _intervalNs;
    private readonly TimeSpan _interval; // as given: _intervalNs saturates past about 292 years
    private long _nextNs;

    /// <summary>A schedule whose first release is one <paramref name="interval"/> from now.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="interval"/> is not positive.</exception>
    public RtPeriod(TimeSpan interval)
        : this(interval, NowPlus(interval))
    {
    }

    /// <summary>A schedule whose first release is at <paramref name="firstReleaseNs"/> on the <see cref="RtClock"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="interval"/> is not positive.</exception>
    public RtPeriod(TimeSpan interval, long firstReleaseNs)
    {
        _intervalNs = CheckedInterval(interval);
        _interval = interval;
        _nextNs = firstReleaseNs;
        Source = new RtPeriodSource(this);
    }

    /// <summary>The period.</summary>
    public TimeSpan Interval => _interval;

    /// <summary>The next release time (<see cref="RtClock"/> ns) a <see cref="WaitAsync"/> will wait for, unless it has already passed.</summary>
    public long NextReleaseNs => _nextNs;

    /// <summary>Releases missed so far: the sum of the counts <see cref="WaitAsync"/> computed (a count is added when the wait is made, even if its await is then cancelled).</summary>
    public long Overruns { get; private set; }

    /// <summary>
    /// Waits for the next release and returns how many releases were missed before it (0 when the loop
    /// kept up). When the next release has already passed, it returns at once (after a preemption
    /// point's check) with the releases that passed beyond it, and the schedule moves to the first
    /// release still to come, on the same phase.
    /// </summary>
    /// <exception cref="InvalidOperationException">The context is used off its CPU, or the task is preempt-disabled (scheduling while atomic).</exception>
    /// <exception cref="OperationCanceledException">The task was cancelled (thrown by the await).</exception>
    /// <exception cref="ArgumentException"><paramref name="context"/> is a default value (no task's context).</exception>
    public RtPeriodAwaitable WaitAsync(TaskContext context)
    {
        _ = context.CurrentTaskOf(nameof(context));
        long release = _nextNs;
        long now = RtClock.NowNs();
        long missed = 0;
        if (now >= release)
        {
            // hrtimer_forward: the releases up to now have all passed; the one being consumed is the
            // first. Unsigned: a first release far in the past must not overflow the difference, and
            // the release it moves to (at most now) fits again.
            ulong behind = (ulong)now - (ulong)release;
            missed = (long)(behind / (ulong)_intervalNs);
            release = (long)((ulong)release + ((ulong)missed * (ulong)_intervalNs));
        }

        SleepAwaitable sleep = context.SleepUntil(release); // a release already passed completes at once
        _nextNs = Saturating(release, _intervalNs);
        Overruns += missed;
        return new RtPeriodAwaitable(sleep, this, missed);
    }

    /// <summary>The missed count of the wait suspended now, its result when it resumes (set by its awaiter; one task at a time).</summary>
    internal long SuspendedMissed { get; set; }

    /// <summary>The source of this period's waits that suspend (made with the period, not per wait).</summary>
    internal RtPeriodSource Source { get; }

    private static long CheckedInterval(TimeSpan interval) => interval > TimeSpan.Zero
        ? RtClock.ToNs(interval)
        : throw new ArgumentOutOfRangeException(nameof(interval), interval, "interval must be positive.");

    private static long NowPlus(TimeSpan interval) => Saturating(RtClock.NowNs(), CheckedInterval(interval));

    // time + interval, held at long.MaxValue (a release that never comes: TimeSpan.MaxValue waits until cancelled).
    // The interval is positive, so long.MaxValue - intervalNs cannot overflow (long.MaxValue - time did for a negative time).
    private static long Saturating(long time, long intervalNs) => time >= long.MaxValue - intervalNs ? long.MaxValue : time + intervalNs;
}
