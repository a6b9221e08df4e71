using System.Runtime.CompilerServices;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// The timer lead (<see cref="RtSchedulerOptions.TimerLead"/>): a busy CPU's points poll the clock
/// while its earliest timer is near. Outcomes only: sleepers on a busy CPU wake, and the polling bit
/// does not outlive the timers that set it (a stuck bit would send every point to the slow path).
/// </summary>
public class TimerLeadTests
{
    [Theory]
    [InlineData(200)]
    [InlineData(0)]
    public async Task SleeperOnBusyCpu_Wakes_AndThePollingBitClearsAfterTheLastTimer(int leadUs)
    {
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.TimerLead = TimeSpan.FromMicroseconds(leadUs);
            o.StallThreshold = Rt.NoStallProbe;
        });
        int sleeperDone = 0;
        int stop = 0;
        bool sawTimerSoon = false;
        var hog = rt.Spawn("hog", 10, async ctx =>
        {
            while (Volatile.Read(ref stop) == 0)
            {
                sawTimerSoon |= (rt.Cpus[0].Pending & PendingWork.TimerSoon) != 0;
                await ctx.PreemptionPoint();
            }
        }, affinity: CpuSet.Of(0));
        var sleeper = rt.Spawn("sleeper", 90, async ctx =>
        {
            long next = RtClock.NowNs();
            for (int i = 0; i < 200; i++)
            {
                next += 500_000;
                await ctx.SleepUntil(next); // on cpu0, busy with the hog: the busy-CPU timer wakes it
            }

            Volatile.Write(ref sleeperDone, 1);
        }, affinity: CpuSet.Of(0));

        await sleeper.WithTimeout();
        if (leadUs == 0)
        {
            Assert.False(sawTimerSoon); // without a lead the bit is never set (with one, whether the hog saw it depends on timing)
        }

        // No timer is left on cpu0: the bit must clear (on the CPU and in the hog's gate) and stay clear.
        await Rt.Until(() => (rt.Cpus[0].Pending & PendingWork.TimerSoon) == 0 && (hog.Gate & PendingWork.TimerSoon) == 0, "TimerSoon cleared after the last timer");
        Volatile.Write(ref stop, 1);
        await hog.WithTimeout();
        Assert.Equal(1, sleeperDone);
    }

    [Fact]
    public async Task DeadlineWithinTheLead_WhenTheCpuTurnsBusy_IsPolledAtOnce_WithoutWaitingForTheTimerThread()
    {
        // A sleep shorter than the lead, armed while the CPU is idle; then a task arrives. Its switch-in
        // must start the polling itself (the bit is set before its first instruction), not leave it to
        // rt/timer's wakeup, which on this VM kind takes about 80 µs and at times over 1 ms, so that a
        // deadline within the lead could pass with no point reading the clock.
        await using RtScheduler rt = StartOneCpu(TimeSpan.FromMilliseconds(10));

        // The same delegate runs again and again: first to an end at once, so that its code is compiled
        // before the runs that look (a first run's JIT would give rt/timer the time to set the bit
        // itself). Each run records, at its first instruction, whether the sleep was still armed and
        // whether the CPU polled it. A VM stop longer than the sleep lets the idle CPU fire it before
        // the hog arrives: such a run shows nothing, and the next sleeper is tried.
        bool warm = true;
        (bool Armed, bool Polled) atSwitchIn = default;
        RtTask? sleeper = null;
        Func<TaskContext, ValueTask> hogBody = async ctx =>
        {
            bool armed = rt.Cpus[0].EarliestTimer != long.MaxValue;
            bool polled = (rt.Cpus[0].Pending & PendingWork.TimerSoon) != 0;
            if (warm)
            {
                return;
            }

            atSwitchIn = (armed, polled);
            while (sleeper!.State != RtTaskState.Completed)
            {
                await ctx.PreemptionPoint();
            }
        };
        await rt.Spawn("warm", 10, hogBody).WithTimeout();
        warm = false;
        for (int attempt = 0; attempt < 20 && !atSwitchIn.Armed; attempt++)
        {
            var asleep = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            sleeper = rt.Spawn("sleeper", 90, async ctx =>
            {
                asleep.SetResult();
                await ctx.Sleep(TimeSpan.FromMilliseconds(5)); // within the lead from the start
            });
            await asleep.Task.WithTimeout();
            await Rt.Until(() => rt.Cpus[0].IsIdle, "cpu0 idle with the sleeper's timer armed");
            await rt.Spawn("hog", 10, hogBody).WithTimeout();
            await sleeper.WithTimeout();
        }

        Assert.True(atSwitchIn.Armed, "in 20 attempts the sleep never outlived the hog's arrival");
        Assert.True(atSwitchIn.Polled, "the hog's switch-in did not start polling a deadline within the lead");
    }

    [Fact]
    public async Task DeadlineBeyondTheLead_OfATaskWithSparsePoints_IsPolledFromTheSwitchIn()
    {
        // A hog passing a point every 20 µs (or more, when the VM stops it) is known, from the short
        // sleeps' leads, to have sparse points; so a sleep far beyond the 200 µs lead must be polled
        // from the hog's switch-in on, not from rt/timer's wakeup 200 µs before a deadline 10 s away.
        await using RtScheduler rt = StartOneCpu();
        int stop = 0;
        bool? polledAfterLongSleep = null;
        var longSleep = new StrongBox<int>();
        var hogStarted = new RtEvent();
        RtTask sleeper = SpawnShortThenLongSleeper(rt, longSleep, TimeSpan.FromSeconds(10), hogStarted);
        var hog = rt.Spawn("hog", 10, async ctx =>
        {
            hogStarted.Set();
            while (Volatile.Read(ref stop) == 0)
            {
                SpinBetweenSparsePoints();
                await ctx.PreemptionPoint();
                if (polledAfterLongSleep is null && Volatile.Read(ref longSleep.Value) == 1 && sleeper.State == RtTaskState.Blocked)
                {
                    polledAfterLongSleep = (rt.Cpus[0].Pending & PendingWork.TimerSoon) != 0; // the hog runs again: it was switched in after the long sleep began
                }
            }
        });
        await Rt.Until(() => polledAfterLongSleep is not null, "the hog ran after the long sleep began");
        Volatile.Write(ref stop, 1);
        await hog.WithTimeout();
        sleeper.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sleeper.WithTimeout());
        Assert.True(polledAfterLongSleep, "a deadline 10 s away was not polled from the switch-in of a task with points 20 µs apart");
    }

    [Fact]
    public async Task PollingBit_LeftOnTheCpuThroughAnIdlePeriod_ClearsAtTheNextTasksFirstPoint_WhenNoTimerIsLeft()
    {
        // The hog starts polling a sleep within the lead, then blocks before its deadline with nothing
        // queued: the CPU idles with the bit set and fires the sleep itself. No timer is left, so the
        // next task's points must stop polling; a bit kept for ever would send every point of its hot
        // loop to the slow path (the countdown to no deadline never ends, and nothing else clears it).
        await using RtScheduler rt = StartOneCpu(TimeSpan.FromMilliseconds(10));
        var park = new RtEvent();
        RtTask? sleeper = null;
        bool? clearedInHotLoop = null;
        var hog = rt.Spawn("hog", 10, async ctx =>
        {
            // A sleeper of 5 ms preempts the hog and sleeps, within the lead, so the hog's switch-in sets
            // the bit. A VM stop longer than the sleep can let the sleep fire first: then another sleeper.
            while ((rt.Cpus[0].Pending & PendingWork.TimerSoon) == 0)
            {
                if (Volatile.Read(ref sleeper) is not { State: not RtTaskState.Completed })
                {
                    Volatile.Write(ref sleeper, rt.Spawn("sleeper", 90, async c => await c.Sleep(TimeSpan.FromMilliseconds(5))));
                }

                await ctx.PreemptionPoint();
            }

            await park.WaitAsync(ctx); // the CPU idles, polling bit set, and fires the sleep itself
            bool cleared = false;
            for (int i = 0; i < 1_000_000 && !cleared; i++)
            {
                await ctx.PreemptionPoint();
                cleared = (rt.Cpus[0].Pending & PendingWork.TimerSoon) == 0 && (ctx.Task.Gate & PendingWork.TimerSoon) == 0;
            }

            clearedInHotLoop = cleared;
        });
        await Rt.Until(() => Volatile.Read(ref sleeper) is { State: RtTaskState.Completed } && hog.State == RtTaskState.Blocked && rt.Cpus[0].IsIdle, "the last sleeper ended, the hog blocked and cpu0 idle");
        Assert.Equal(long.MaxValue, rt.Cpus[0].EarliestTimer);
        park.Set();
        await hog.WithTimeout();
        Assert.True(clearedInHotLoop, "the polling bit outlived every timer: each point of the hot loop took the slow path");
    }

    [Fact]
    public async Task PollingBit_OfATaskWithSparsePoints_StopsAtTheFirstPointOfTheNextTask_WhenItsTimerIsBeyondTheLead()
    {
        // The first hog's points are sparse (20 µs apart), so its CPU polls a sleep 10 minutes away from
        // its switch-in on. When it ends, the second hog, whose points are not known to be sparse, runs:
        // it must not keep polling a timer beyond the lead (until the sleep's deadline, every point of
        // its hot loop would pass through the slow path's countdown).
        await using RtScheduler rt = StartOneCpu();
        var longSleep = new StrongBox<int>();
        var hogStarted = new RtEvent();
        RtTask sleeper = SpawnShortThenLongSleeper(rt, longSleep, TimeSpan.FromMinutes(10), hogStarted);
        RtTask sparse = rt.Spawn("sparse", 10, async ctx =>
        {
            hogStarted.Set();
            bool polling = false;
            while (!polling)
            {
                SpinBetweenSparsePoints();
                await ctx.PreemptionPoint();
                polling = Volatile.Read(ref longSleep.Value) == 1 && sleeper.State == RtTaskState.Blocked && (rt.Cpus[0].Pending & PendingWork.TimerSoon) != 0;
            }
        });
        bool? clearedInHotLoop = null;
        var dense = rt.Spawn("dense", 10, async ctx =>
        {
            Assert.Equal(RtTaskState.Completed, sparse.State); // queued behind the sparse hog (one CPU, FIFO)
            bool cleared = false;
            for (int i = 0; i < 1_000_000 && !cleared; i++)
            {
                await ctx.PreemptionPoint();
                cleared = (rt.Cpus[0].Pending & PendingWork.TimerSoon) == 0 && (ctx.Task.Gate & PendingWork.TimerSoon) == 0;
            }

            clearedInHotLoop = cleared;
        });
        await sparse.WithTimeout();
        await dense.WithTimeout();
        sleeper.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sleeper.WithTimeout());
        Assert.True(clearedInHotLoop, "the second hog kept polling a sleep 10 minutes away");
    }

    /// <summary>
    /// A FIFO 90 sleeper that waits for <paramref name="hogStarted"/>, then sleeps 1 ms twenty times (the
    /// lead of each has the hog's points read the clock, so the CPU learns the hog's point gap), then sets
    /// <paramref name="longSleep"/> and sleeps <paramref name="longSleepFor"/>, far beyond the lead.
    /// </summary>
    private static RtTask SpawnShortThenLongSleeper(RtScheduler rt, StrongBox<int> longSleep, TimeSpan longSleepFor, RtEvent hogStarted) =>
        rt.Spawn("sleeper", 90, async ctx =>
        {
            // The short sleeps teach the CPU the hog's point gap only if the hog runs between them: the
            // hog is spawned after this task, and a test thread the OS holds off for the 20 ms they take
            // would spawn it too late (its switch-in after the long sleep began would then know no gap).
            await hogStarted.WaitAsync(ctx);
            for (int i = 0; i < 20; i++)
            {
                await ctx.Sleep(TimeSpan.FromMilliseconds(1));
            }

            Volatile.Write(ref longSleep.Value, 1);
            await ctx.Sleep(longSleepFor);
        });

    /// <summary>20 µs of computing: a hog's points this far apart are sparse (<c>Cpu.SparsePointGapNs</c>).</summary>
    private static void SpinBetweenSparsePoints()
    {
        long end = RtClock.NowNs() + 20_000;
        while (RtClock.NowNs() < end)
        {
        }
    }

    /// <summary>A one-CPU runtime with the default timer lead, or <paramref name="lead"/>, and no stall probe.</summary>
    private static RtScheduler StartOneCpu(TimeSpan? lead = null) => Rt.Start(o =>
    {
        o.CpuCount = 1;
        o.TimerLead = lead ?? o.TimerLead;
        o.StallThreshold = Rt.NoStallProbe;
    });
}
