using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// A busy CPU within its timer lead polls its timers itself: <c>rt/timer</c> only backs it up, 25 µs
/// after the deadline (<see cref="Scheduling.TimerRules.ForBusyCpu"/>). With that backstop moved an
/// hour away (a test-only option), every way a busy CPU goes from task to task must still fire its
/// sleepers: preemption points, yields, and direct switches after a block. Without the CPU's own
/// polling on a path, the sleeper below would wait the hour: the hang guard turns that into a failure.
/// Once nothing is near, the CPU must stop polling on those paths too.
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
        await using var rt = StartOneCpu(o => o.PollBackstop = TimeSpan.FromHours(1));
        int stop = 0;
        List<RtTask> busyTasks = SpawnBusy(rt, busy, () => Volatile.Read(ref stop) != 0);
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
    /// Once nothing is near, a CPU that only yields or hands off stops polling (its TimerSoon bit
    /// clears, as at a point's slow path): else every later switch would read the clock. Without the
    /// clear the bit stays set for good and the wait below hangs.
    /// </summary>
    [Theory]
    [InlineData("yields")]
    [InlineData("handoff")]
    public async Task CpuWithoutPoints_StopsPollingOnceItsTimerFired(string busy)
    {
        await using var rt = StartOneCpu(_ => { });
        int stop = 0;
        List<RtTask> busyTasks = SpawnBusy(rt, busy, () => Volatile.Read(ref stop) != 0);
        RtTask sleeper = rt.Spawn("sleeper", 90, async ctx => await ctx.Sleep(TimeSpan.FromMilliseconds(1)));
        Cpus.Cpu cpu = rt.CpuAt(0);
        try
        {
            await sleeper.WithTimeout();
            await Rt.Until(() => (cpu.Pending & Cpus.PendingWork.TimerSoon) == 0, "the CPU stops polling");
        }
        finally
        {
            Volatile.Write(ref stop, 1);
        }

        await busyTasks.AllWithTimeout();
    }

    private static RtScheduler StartOneCpu(Action<RtSchedulerOptions> configure) => Rt.Start(o =>
    {
        o.CpuCount = 1;
        o.StallThreshold = Rt.NoStallProbe;
        configure(o);
    });

    private static List<RtTask> SpawnBusy(RtScheduler rt, string busy, Func<bool> stop)
    {
        switch (busy)
        {
            case "points":
                return [rt.Spawn("hog", 10, async ctx =>
                {
                    while (!stop())
                    {
                        await ctx.PreemptionPoint();
                    }
                })];
            case "yields":
                return [rt.Spawn("yielder", 10, async ctx =>
                {
                    while (!stop())
                    {
                        await ctx.Yield();
                    }
                })];
            default:
                var ping = new RtEvent(autoReset: true);
                var pong = new RtEvent(autoReset: true);
                return
                [
                    rt.Spawn("ping", 10, async ctx => await HandOff(ctx, pong, ping, stop)),
                    rt.Spawn("pong", 10, async ctx => await HandOff(ctx, ping, pong, stop)),
                ];
        }
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
