using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Balancing;

/// <summary>
/// An idle CPU offered queued work it may not run (the work's affinity excludes it) parks instead of
/// pulling again on every turn: the offer used to keep its core spinning for as long as the work waited.
/// </summary>
public class IdlePullTests
{
    [Fact]
    public async Task AnIdleCpuWhosePullCannotTakeTheQueuedTaskParks()
    {
        // cpu0 runs H (50) with W (10, allowed on cpu0 and cpu2) queued behind it, and cpu2 runs a
        // higher task, so W waits on cpu0 as a pushable task. cpu1 is idle: its pull sees W on offer,
        // and W may not run on cpu1.
        await using RtScheduler rt = Rt.Start(o =>
        {
            o.CpuCount = 3;
            o.IdlePollMax = TimeSpan.Zero; // no idle poll: the CPU parks as soon as it decides to
            o.StallThreshold = Rt.NoStallProbe;
        });
        var busy = new BusyUntilStopped();
        RtTask high2 = rt.Spawn("high2", 60, busy.Body, affinity: CpuSet.Of(2));
        RtTask h = rt.Spawn("h", 50, busy.Body, affinity: CpuSet.Of(0));
        await Rt.Until(() => high2.State == RtTaskState.Running && h.State == RtTaskState.Running, "high2 and h running");
        RtTask w = rt.Spawn("w", 10, busy.Body, affinity: CpuSet.Of(0, 2));
        await Rt.Until(() => rt.Cpus[0].PushableTop == w.Prio, "w queued on cpu0 as a pushable task");

        // cpu1 parked before w was queued; a task run there brings it back to its turns, and to its pull.
        await rt.Spawn("poke", 20, _ => ValueTask.CompletedTask, affinity: CpuSet.Of(1)).WithTimeout();
        await Rt.Until(() => rt.Cpus[1].Parker.IsAsleep, "cpu1 parked while w waits on cpu0");
        Assert.Equal(RtTaskState.Runnable, w.State);
        Assert.Equal(0, w.CurrentCpu);
        Assert.Equal(w.Prio, rt.Cpus[0].PushableTop); // still on offer: cpu1 parked with it there

        busy.Stop();
        await Task.WhenAll(high2.WithTimeout(), h.WithTimeout(), w.WithTimeout());
    }
}
