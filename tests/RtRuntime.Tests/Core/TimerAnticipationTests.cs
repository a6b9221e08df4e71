using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// Timer anticipation (<see cref="RtSchedulerOptions.AnticipateTimers"/>): a busy CPU stops its task at
/// the point before a sleeper's deadline and spins to it, only when the sleeper will preempt that task.
/// Outcomes only (never how late a sleeper ran): a sleeper never wakes before its deadline, the CPU
/// anticipates when it should (a hang guard, not a time limit, bounds the wait for the first one), and
/// never when the rules say no.
/// </summary>
public class TimerAnticipationTests
{
    private const long PeriodNs = 1_000_000;

    [Fact]
    public async Task HigherSleeperOnBusyCpu_IsAnticipated_AndNeverWakesEarly()
    {
        (long spins, long early, int periods, double spinSeconds) = await RunAsync(anticipate: true, hogPrio: 10, sleeperPrio: 90, pinnedHog: false, stopAfterFirstSpin: true);
        Assert.True(spins > 0, $"no deadline anticipated in {periods} periods");
        Assert.True(spinSeconds > 0, "rtruntime.cpu.timer_spin_time reports cpu0's spin");
        Assert.Equal(0, early);
    }

    /// <summary>
    /// Two sleepers due at one deadline on cpu0, where a hog (10) runs: A (5) armed first would not
    /// preempt the hog, B (90) armed after it would. Each round B spawns an A, yields to it (A lowers
    /// itself to 5 and sleeps until the round's deadline), then sleeps until that deadline too. Both
    /// wake then, so the point before it must stop the hog for B. Before, the CPU looked only at the
    /// first timer armed (A) and never spun (the hang guard turned that into a failure).
    /// </summary>
    [Fact]
    public async Task TiedSleepers_AHigherOneArmedAfterALowerOne_IsAnticipated_AndNeverWakesEarly()
    {
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.StallThreshold = Rt.NoStallProbe;
        });
        int stop = 0;
        RtTask hog = rt.Spawn("hog", 10, async ctx =>
        {
            while (Volatile.Read(ref stop) == 0)
            {
                long until = RtClock.NowNs() + 2_000;
                while (RtClock.NowNs() < until)
                {
                }

                await ctx.PreemptionPoint();
            }
        });

        var lows = new List<RtTask>();
        long early = 0;
        RtTask high = rt.Spawn("B", 90, async ctx =>
        {
            long hang = RtClock.NowNs() + RtClock.ToNs(Rt.Hang);
            while (Volatile.Read(ref rt.Cpus[0].TimerSpins) == 0)
            {
                long deadline = RtClock.NowNs() + PeriodNs;
                lows.Add(rt.Spawn("A", 90, async a =>
                {
                    a.SetPriority(5);
                    await a.SleepUntil(deadline);
                }));
                await ctx.Yield(); // A runs and arms its timer first
                await ctx.SleepUntil(deadline);
                if (RtClock.NowNs() < deadline)
                {
                    early++;
                }

                if (RtClock.NowNs() > hang)
                {
                    throw new TimeoutException($"cpu0 anticipated no deadline in {lows.Count} rounds");
                }
            }
        });

        try
        {
            await high.WithTimeout();
        }
        finally
        {
            Volatile.Write(ref stop, 1);
        }

        await hog.WithTimeout();
        await lows.AllWithTimeout();
        Assert.Equal(0, early);
    }

    /// <summary>
    /// No anticipation when it is off; when the sleeper would not preempt the hog (stopping the hog
    /// for it would only waste the hog's time; the hog rests 1 ms in every 4, when the sleeper runs);
    /// or when the hog is migrate-disabled (a pinned running task may send the woken sleeper to another
    /// CPU: WorkConserving spares it, so the CPU does not stop it on the guess that the sleeper comes here).
    /// </summary>
    [Theory]
    [InlineData("off", false, 10, 90, false)]
    [InlineData("lower sleeper", true, 50, 10, false)]
    [InlineData("migrate-disabled hog", true, 10, 90, true)]
    public async Task NeverSpins_WhenTheRulesSayNo(string why, bool anticipate, int hogPrio, int sleeperPrio, bool pinnedHog)
    {
        (long spins, long early, _, double spinSeconds) = await RunAsync(anticipate, hogPrio, sleeperPrio, pinnedHog, stopAfterFirstSpin: false);
        Assert.True(spins == 0, $"{why}: {spins} deadlines spun to");
        Assert.Equal(0, spinSeconds);
        Assert.Equal(0, early);
    }

    /// <summary>
    /// A hog on cpu0 passing a point every few µs, and a periodic sleeper there (1 ms). Runs 200
    /// periods, or with <paramref name="stopAfterFirstSpin"/> until cpu0 has anticipated one deadline
    /// (the hang timeout turns "never" into a failure). Returns cpu0's spins (from a snapshot), the
    /// sleeper's early wakeups, the periods run, and cpu0's spin time as the meter reports it.
    /// </summary>
    private static async Task<(long Spins, long Early, int Periods, double SpinSeconds)> RunAsync(bool anticipate, int hogPrio, int sleeperPrio, bool pinnedHog, bool stopAfterFirstSpin)
    {
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.AnticipateTimers = anticipate;
            o.StallThreshold = Rt.NoStallProbe;
        });
        int stop = 0;
        long early = 0;
        int periods = 0;
        RtTask hog = rt.Spawn("hog", hogPrio, async ctx =>
        {
            if (pinnedHog)
            {
                using (ctx.MigrateDisable())
                {
                    await ComputeAsync(ctx);
                }
            }
            else
            {
                await ComputeAsync(ctx);
            }
        }, affinity: CpuSet.Of(0));

        async ValueTask ComputeAsync(TaskContext ctx)
        {
            long rest = RtClock.NowNs() + 3 * PeriodNs;
            while (Volatile.Read(ref stop) == 0)
            {
                if (hogPrio > sleeperPrio && RtClock.NowNs() > rest)
                {
                    await ctx.Sleep(TimeSpan.FromTicks(PeriodNs / 100)); // let the lower sleeper run
                    rest = RtClock.NowNs() + 3 * PeriodNs;
                }

                long until = RtClock.NowNs() + 2_000;
                while (RtClock.NowNs() < until)
                {
                }

                await ctx.PreemptionPoint();
            }
        }

        RtTask sleeper = rt.Spawn("sleeper", sleeperPrio, async ctx =>
        {
            long next = RtClock.NowNs();
            long hang = next + RtClock.ToNs(Rt.Hang);
            while (true)
            {
                next += PeriodNs;
                await ctx.SleepUntil(next);
                if (RtClock.NowNs() < next)
                {
                    early++;
                }

                periods++;
                bool enough = stopAfterFirstSpin ? Volatile.Read(ref rt.Cpus[0].TimerSpins) > 0 : periods >= 200;
                if (enough)
                {
                    break;
                }

                if (RtClock.NowNs() > hang)
                {
                    throw new TimeoutException($"cpu0 anticipated no deadline in {periods} periods");
                }
            }
        }, affinity: CpuSet.Of(0));

        try
        {
            await sleeper.WithTimeout();
        }
        finally
        {
            Volatile.Write(ref stop, 1);
        }

        await hog.WithTimeout();
        using var spinTime = new MetricCollector<double>(rt.Metrics.Meter, "rtruntime.cpu.timer_spin_time");
        spinTime.RecordObservableInstruments();
        double cpu0Spin = spinTime.GetMeasurementSnapshot().Single(m => (int)m.Tags["cpu"]! == 0).Value;
        return (rt.Snapshot().Cpus[0].TimerSpins, early, periods, cpu0Spin);
    }
}
