using RtRuntime.Cpus;

namespace RtRuntime.Tests.Core;

/// <summary>
/// The parker's watched work (a CPU's wake list): an owner that spins or is about to sleep notices it
/// without a permit, so a waker unparks only an owner that is asleep (<see cref="Parker.IsAsleep"/>).
/// Outcomes only: every wait below would hang without the behaviour, and the timeouts only turn a hang
/// into a failure.
/// </summary>
public class ParkerTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Park_WhileSpinning_ReturnsWhenWatchedWorkAppears_WithoutAPermit()
    {
        int work = 0;
        using var parker = new Parker(() => Volatile.Read(ref work) != 0);
        var parked = Task.Run(() => parker.Park(long.MaxValue, spinNs: long.MaxValue / 4)); // spins until work or a permit
        Volatile.Write(ref work, 1);
        await parked.WaitAsync(HangGuard);
        Assert.False(parker.IsAsleep);
    }

    [Fact]
    public async Task Park_WithWatchedWorkAlreadyPublished_DoesNotSleep()
    {
        int work = 1;
        using var parker = new Parker(() => Volatile.Read(ref work) != 0);
        await Task.Run(() => parker.Park(long.MaxValue, spinNs: 0)).WaitAsync(HangGuard); // no spin: straight to the sleep path, which tests the work after marking itself asleep
        Assert.False(parker.IsAsleep);
    }

    [Fact]
    public async Task Park_WithoutWork_IsAsleepUntilUnparked()
    {
        using var parker = new Parker(() => false);
        var parked = Task.Run(() => parker.Park(long.MaxValue, spinNs: 0));
        await Rt.Until(() => parker.IsAsleep, "the owner marks itself asleep");
        Assert.False(parked.IsCompleted);
        parker.Unpark();
        await parked.WaitAsync(HangGuard);
        Assert.False(parker.IsAsleep);
    }

    [Fact]
    public async Task WakerThatUnparksOnlyASleepingOwner_LosesNoWakeup()
    {
        // The wake list's protocol, raced 20,000 times: the waker publishes work (a full fence) and
        // unparks only if the owner is asleep; the owner alternates spinning and sleeping parks. A lost
        // wakeup leaves the owner asleep with no deadline and the round never ends.
        const int Rounds = 20_000;
        int work = 0;
        int taken = 0;
        using var parker = new Parker(() => Volatile.Read(ref work) != 0);
        var owner = Task.Run(() =>
        {
            for (int round = 0; round < Rounds; round++)
            {
                while (Interlocked.Exchange(ref work, 0) == 0)
                {
                    parker.Park(long.MaxValue, spinNs: (round & 1) == 0 ? 0 : 2_000);
                }

                Volatile.Write(ref taken, round + 1);
            }
        });
        var waker = Task.Run(() =>
        {
            for (int round = 0; round < Rounds; round++)
            {
                var spin = default(SpinWait);
                while (Volatile.Read(ref taken) != round)
                {
                    spin.SpinOnce(-1);
                }

                Interlocked.Exchange(ref work, 1);
                if (parker.IsAsleep)
                {
                    parker.Unpark();
                }
            }
        });
        await Task.WhenAll(owner, waker).WaitAsync(HangGuard);
        Assert.Equal(Rounds, Volatile.Read(ref taken));
    }

    // SleepLateNs feeds the idle timer's early wake (TimerEarlyWake): only a sleep the OS ended by its
    // timeout reports how late it came back; a park that never slept reports nothing (−1).

    [Fact]
    public void Park_ToAPassedDeadline_DoesNotSleep_AndReportsNoLateness()
    {
        using var parker = new Parker(() => false);
        parker.Park(RtClock.NowNs() - 40_000, spinNs: 0); // e.g. a busy CPU's overdue deadline for the timer duty
        Assert.Equal(-1, parker.SleepLateNs);
    }

    // A deadline far enough in the past (before long.MinValue + now: a sleep to long.MinValue that blocked
    // on pending work, parked towards by the timer duty CPU) must not overflow into ~292 years of sleep.
    [Theory]
    [InlineData(long.MinValue, 0L)]
    [InlineData(long.MinValue + 1, 0L)]
    [InlineData(long.MinValue + 1, 50_000L)]
    [InlineData(long.MinValue + 1_000_000, 50_000L)]
    public async Task Park_ToADeadlineLongPast_ReturnsAtOnce(long deadlineNs, long earlyNs)
    {
        using var parker = new Parker(() => false);
        var parked = Task.Factory.StartNew(() => parker.Park(deadlineNs, spinNs: 0, earlyNs: earlyNs), TaskCreationOptions.LongRunning);
        bool returned = await Task.WhenAny(parked, Task.Delay(HangGuard)) == parked;
        parker.Unpark(); // lets a park that overflowed into a sleep of ~292 years end
        await parked.WaitAsync(HangGuard);
        Assert.True(returned, $"Park({deadlineNs}, earlyNs: {earlyNs}) slept until unparked");
        Assert.Equal(-1, parker.SleepLateNs);
    }

    [Fact]
    public void Park_WhoseSpinReachesTheDeadline_DoesNotSleep_AndReportsNoLateness()
    {
        using var parker = new Parker(() => false);
        parker.Park(RtClock.NowNs() + 20_000, spinNs: 1_000_000); // the idle poll covers the whole wait
        Assert.Equal(-1, parker.SleepLateNs);
    }

    [Fact]
    public void Park_ThatSleepsToItsTimeout_ReportsALatenessOfZeroOrMore()
    {
        using var parker = new Parker(() => false);
        long late = -1;
        for (int attempt = 0; attempt < 10 && late < 0; attempt++) // a signal (the GC's suspension) may end a sleep early: try again
        {
            parker.Park(RtClock.NowNs() + 200_000, spinNs: 0);
            late = parker.SleepLateNs;
        }

        Assert.True(late >= 0, $"no timed-out sleep in 10 attempts (last {late})");
    }

    // A timed sleep ended by the OS without a permit (a futex wake meant for an earlier park, a signal)
    // must sleep again: in the early-wake path it became a spin to a deadline however far away.

    [LinuxFact]
    public async Task EarlyWakePark_WokenWithoutAPermit_SleepsAgainInsteadOfSpinningToTheDeadline()
    {
        long checks = 0; // the watched work is tested once per spin turn (and once before each sleep)
        using var parker = new Parker(() =>
        {
            Interlocked.Increment(ref checks);
            return false;
        });
        long deadline = RtClock.NowNs() + 400_000_000;
        var parked = Task.Factory.StartNew(() => parker.Park(deadline, spinNs: 0, earlyNs: 50_000), TaskCreationOptions.LongRunning);
        await Rt.Until(() => parker.IsAsleep || parked.IsCompleted, "the owner sleeps");
        Assert.False(parked.IsCompleted);
        long before = Interlocked.Read(ref checks);
        StaleFutexWake(parker);
        await parked.WaitAsync(HangGuard);
        long turns = Interlocked.Read(ref checks) - before;
        Assert.True(turns < 100_000, $"the owner spun {turns:N0} turns towards a deadline ~400 ms away (the 50 µs early window alone is ~1,000)");
    }

    [Fact]
    public async Task EarlyWakePark_InsideTheEarlyWindow_ConsumesThePermitThatEndedIt()
    {
        int spinning = 0;
        using var parker = new Parker(() =>
        {
            Volatile.Write(ref spinning, 1);
            return false;
        });
        var parked = Task.Factory.StartNew(() => parker.Park(RtClock.NowNs() + 5_000_000_000, spinNs: 0, earlyNs: 10_000_000_000), TaskCreationOptions.LongRunning);
        await Rt.Until(() => Volatile.Read(ref spinning) != 0, "the owner spins");
        parker.Unpark();
        await parked.WaitAsync(HangGuard);
        var next = Task.Factory.StartNew(() => parker.Park(long.MaxValue, spinNs: 0), TaskCreationOptions.LongRunning);
        await Rt.Until(() => parker.IsAsleep || next.IsCompleted, "the next park sleeps or returns");
        bool returnedAtOnce = next.IsCompleted;
        parker.Unpark();
        await next.WaitAsync(HangGuard);
        Assert.False(returnedAtOnce, "the permit that ended the early-window spin leaked into the next park");
    }

    /// <summary>A FUTEX_WAKE on the parker's word with no permit, as a waker of an earlier park that saw it Parked sends late.</summary>
    private static void StaleFutexWake(Parker parker)
    {
        object word = typeof(Parker).GetField("_word", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(parker)!;
        typeof(Interop.LinuxInterop).GetMethod("FutexWake", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.Invoke(null, [word]);
    }
}
