using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// A busy CPU within its timer lead polls its timers itself: <c>rt/timer</c> only backs it up, 25 µs
/// after the deadline (<see cref="Scheduling.TimerRules.ForBusyCpu"/>). With that backstop moved an
/// hour away (a test-only option), every way a busy CPU goes from task to task must still fire its
/// sleepers: preemption points, yields, and direct switches after a block. Without the CPU's own
/// polling on a path, the sleeper below would wait the hour: the hang guard turns that into a failure.
/// </summary>
public class PolledTimerTests
{
    private const int Sleeps = 20;

    [Theory]
    [InlineData("points")]  // a hog passing preemption points
    [InlineData("yields")]  // a task that only yields (YieldAndPick)
    [InlineData("handoff")] // two tasks handing off by events (direct switch after a block: PickAfterLeave)
    public async Task SleeperOnABusyCpu_WakesWithoutTheTimerThreadsBackstop(string busy)
    {
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.PollBackstop = TimeSpan.FromHours(1);
            o.StallThreshold = Rt.NoStallProbe;
        });
        int stop = 0;
        var busyTasks = new List<RtTask>();
        switch (busy)
        {
            case "points":
                busyTasks.Add(rt.Spawn("hog", 10, async ctx =>
                {
                    while (Volatile.Read(ref stop) == 0)
                    {
                        await ctx.PreemptionPoint();
                    }
                }));
                break;
            case "yields":
                busyTasks.Add(rt.Spawn("yielder", 10, async ctx =>
                {
                    while (Volatile.Read(ref stop) == 0)
                    {
                        await ctx.Yield();
                    }
                }));
                break;
            default:
                var ping = new RtEvent(autoReset: true);
                var pong = new RtEvent(autoReset: true);
                busyTasks.Add(rt.Spawn("ping", 10, async ctx => await HandOff(ctx, pong, ping, () => Volatile.Read(ref stop) != 0)));
                busyTasks.Add(rt.Spawn("pong", 10, async ctx => await HandOff(ctx, ping, pong, () => Volatile.Read(ref stop) != 0)));
                break;
        }

        int woke = 0;
        RtTask sleeper = rt.Spawn("sleeper", 90, async ctx =>
        {
            for (int i = 0; i < Sleeps; i++)
            {
                await ctx.Sleep(TimeSpan.FromMilliseconds(1));
                woke++;
            }
        });
        try
        {
            await sleeper.WithTimeout();
        }
        finally
        {
            Volatile.Write(ref stop, 1);
        }

        await busyTasks.AllWithTimeout();
        Assert.Equal(Sleeps, woke);
    }

    /// <summary>
    /// Once nothing is near, a CPU that only yields stops polling (its TimerSoon bit clears, as at a
    /// point's slow path): else every later yield would read the clock. Without the clear the bit stays
    /// set for good and the wait below hangs.
    /// </summary>
    [Fact]
    public async Task YieldOnlyCpu_StopsPollingOnceItsTimerFired()
    {
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.StallThreshold = Rt.NoStallProbe;
        });
        int stop = 0;
        RtTask yielder = rt.Spawn("yielder", 10, async ctx =>
        {
            while (Volatile.Read(ref stop) == 0)
            {
                await ctx.Yield();
            }
        });
        RtTask sleeper = rt.Spawn("sleeper", 90, async ctx => await ctx.Sleep(TimeSpan.FromMilliseconds(1)));
        Cpus.Cpu cpu = rt.CpuAt(0);
        try
        {
            await Rt.Until(() => (cpu.Pending & Cpus.PendingWork.TimerSoon) != 0 || sleeper.IsCompleted, "the CPU polls its sleeper's timer, or the sleeper ran");
            await sleeper.WithTimeout();
            await Rt.Until(() => (cpu.Pending & Cpus.PendingWork.TimerSoon) == 0, "the yielding CPU stops polling");
        }
        finally
        {
            Volatile.Write(ref stop, 1);
        }

        await yielder.WithTimeout();
    }

    private static async ValueTask HandOff(TaskContext ctx, RtEvent give, RtEvent take, Func<bool> stop)
    {
        while (!stop())
        {
            give.Set();
            await take.WaitAsync(ctx);
        }

        give.Set(); // let the other one see the stop too
    }
}
