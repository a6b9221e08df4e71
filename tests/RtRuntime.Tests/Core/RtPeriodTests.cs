using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// <see cref="RtPeriod"/> (hrtimer_forward): releases on a fixed phase, and the count of releases a late
/// loop missed. Outcomes only: a release is never waited for early, and overruns are bounded from
/// below by the work done, never asserted from above.
/// </summary>
public class RtPeriodTests
{
    [Fact]
    public async Task AKeptUpLoop_WakesAtOrAfterEachRelease_OnThePhaseOfTheFirst()
    {
        await using var rt = Rt.Start(cpus: 1);
        var interval = TimeSpan.FromMilliseconds(3);
        (long Release, long WokeAt, long Missed)[] waits = await rt.Spawn("periodic", 90, async ctx =>
        {
            var period = new RtPeriod(interval);
            long first = period.NextReleaseNs;
            var log = new (long, long, long)[5];
            for (int i = 0; i < log.Length; i++)
            {
                long release = period.NextReleaseNs;
                long missed = await period.WaitAsync(ctx);
                log[i] = (release, RtClock.NowNs(), missed);
            }

            Assert.Equal(0, (period.NextReleaseNs - first) % RtClock.ToNs(interval)); // still on the first release's phase
            return log;
        }, SchedPolicy.Fifo).WithTimeout();

        foreach ((long release, long wokeAt, long missed) in waits)
        {
            Assert.True(wokeAt >= release || missed > 0, "woke before its release");
        }
    }

    [Fact]
    public async Task ALateLoop_GetsTheReleasesItMissed_AtOnce_AndKeepsItsPhase()
    {
        await using var rt = Rt.Start(cpus: 1);
        var interval = TimeSpan.FromMilliseconds(2);
        long intervalNs = RtClock.ToNs(interval);
        (long Missed, long Overruns, long NextRelease, long CalledAt, long Phase) result = await rt.Spawn("late", 90, async ctx =>
        {
            var period = new RtPeriod(interval);
            long first = period.NextReleaseNs;
            _ = await period.WaitAsync(ctx);
            long workEnd = RtClock.NowNs() + (7 * intervalNs / 2); // 3.5 intervals of work: at least 3 releases pass
            while (RtClock.NowNs() < workEnd)
            {
            }

            long calledAt = RtClock.NowNs();
            long missed = await period.WaitAsync(ctx);
            return (missed, period.Overruns, period.NextReleaseNs, calledAt, (period.NextReleaseNs - first) % intervalNs);
        }, SchedPolicy.Fifo).WithTimeout();

        Assert.True(result.Missed >= 2, $"missed {result.Missed}: at least two releases passed beyond the one consumed");
        Assert.Equal(result.Missed, result.Overruns);
        Assert.Equal(0, result.Phase);
        Assert.True(result.NextRelease > result.CalledAt, "the schedule moved past the releases that had passed");
    }

    [Fact]
    public async Task ExtremeSchedules_AMaxValuePeriodWaitsUntilCancelled_AFirstReleaseFarInThePastCountsForward()
    {
        await using var rt = Rt.Start(cpus: 1);
        (long Missed, long Next, long CalledAt) past = await rt.Spawn("past", 50, async ctx =>
        {
            var period = new RtPeriod(TimeSpan.FromMilliseconds(1), long.MinValue);
            long calledAt = RtClock.NowNs();
            long missed = await period.WaitAsync(ctx);
            return (missed, period.NextReleaseNs, calledAt);
        }).WithTimeout();
        Assert.True(past.Missed > 0, $"missed {past.Missed}");
        Assert.True(past.Next > past.CalledAt, "the schedule moved to a release still to come");

        int releases = 0;
        RtTask forever = rt.Spawn("forever", 50, async ctx =>
        {
            var period = new RtPeriod(TimeSpan.MaxValue);
            while (true)
            {
                _ = await period.WaitAsync(ctx);
                releases++;
            }
        });
        await Rt.Until(() => forever.State == RtTaskState.Blocked, "asleep until a release that never comes");
        forever.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => forever.WithTimeout());
        Assert.Equal(0, releases);
    }

    [Fact]
    public async Task AFirstReleaseBeforeTheClocksZero_WithAnIntervalLongerThanTheClock_ForwardsOneIntervalFromIt()
    {
        await using var rt = Rt.Start(cpus: 1);
        (long Missed, long Next, long IntervalNs) result = await rt.Spawn("negative-phase", 50, async ctx =>
        {
            // An interval longer than the clock's value (its time since boot, on Linux) and a first
            // release at −1 ns: the wait consumes that release at once, missing none, and the next one is
            // an interval after it (not long.MaxValue, a release that never comes).
            var interval = TimeSpan.FromTicks((RtClock.NowNs() / 100) + TimeSpan.TicksPerHour);
            var period = new RtPeriod(interval, -1);
            long missed = await period.WaitAsync(ctx);
            return (missed, period.NextReleaseNs, RtClock.ToNs(interval));
        }).WithTimeout();

        Assert.Equal(0, result.Missed);
        Assert.Equal(result.IntervalNs - 1, result.Next);
    }

    [Fact]
    public async Task BadInput_AndCancellationWhileWaiting()
    {
        var zero = Assert.Throws<ArgumentOutOfRangeException>(() => new RtPeriod(TimeSpan.Zero));
        Assert.Equal("interval", zero.ParamName);
        Assert.Contains("positive", zero.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RtPeriod(TimeSpan.FromMilliseconds(-1), 0));

        await using var rt = Rt.Start(cpus: 1);
        RtTask sleeper = rt.Spawn("hourly", 50, async ctx =>
        {
            var period = new RtPeriod(TimeSpan.FromHours(1));
            _ = await period.WaitAsync(ctx);
        });
        await Rt.Until(() => sleeper.State == RtTaskState.Blocked, "asleep until its first release");
        sleeper.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sleeper.WithTimeout());
        Assert.Equal(RtTaskState.Cancelled, sleeper.State);
    }

    /// <summary>The interval is reported as given, also past the clock's range (about 292 years of ns), where it was the saturated ns value.</summary>
    [Theory]
    [InlineData(12_345L)]
    [InlineData(long.MaxValue)] // TimeSpan.MaxValue: a release that never comes
    public void Interval_IsReportedAsGiven(long ticks)
    {
        Assert.Equal(TimeSpan.FromTicks(ticks), new RtPeriod(TimeSpan.FromTicks(ticks)).Interval);
    }
}
