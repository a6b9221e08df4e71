using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Balancing;

/// <summary>
/// WorkConserving's repair on sight: when a task preempts a migrate-disabled one, the preempter is
/// pushed to a CPU busy below it before it runs, and the CPU falls back to the pinned task's priority.
/// It then pulls before it picks, as after a move away: a task waiting on another CPU above the pinned
/// one (which no CPU looked at while the preempter was queued here) runs here first. The simulator
/// found the gap (docs/simulator.md); the dispatcher used to pick the pinned task at once.
/// </summary>
public class PullAfterRepairTests
{
    [Fact]
    public async Task APinnedTasksPreempterPushedAway_TheCpuPullsAHigherWaitingTaskBeforeResumingIt()
    {
        // cpu2 runs L (20, pinned there), cpu1 runs H (90, pinned there). P (30) runs migrate-disabled on
        // cpu0 without points while X (83, allowed on cpu0 and cpu2) queues there to preempt it, and W
        // (46, allowed on cpu0 and cpu1) queues on cpu1: cpu0 looks busy at 83 to W. At P's point X
        // preempts it and is pushed to cpu2 (L is lower): cpu0 falls back to 30, and must pull W.
        await using RtScheduler rt = Rt.Start(o =>
        {
            o.CpuCount = 3;
            o.BalanceTick = TimeSpan.FromSeconds(10); // the tick would move W too, much later
            o.StallThreshold = Rt.NoStallProbe;
            o.WakeList = false; // x must reach cpu0's queue while p passes no point (a listed task waits for one)
        });
        var busy = new BusyUntilStopped();
        int go = 0;
        int wStarted = 0;
        RtTask l = rt.Spawn("l", 20, busy.Body, affinity: CpuSet.Of(2));
        RtTask h = rt.Spawn("h", 90, busy.Body, affinity: CpuSet.Of(1));
        await Rt.Until(() => l.State == RtTaskState.Running && h.State == RtTaskState.Running, "l and h running");
        RtTask<int> p = rt.Spawn<int>("p", 30, async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                ctx.SpinWithoutPointsUntil(() => Volatile.Read(ref go) == 1, "released");
                await ctx.PreemptionPoint(); // x preempts here, and is pushed to cpu2
                int seen = Volatile.Read(ref wStarted);
                await busy.Body(ctx);
                return seen;
            }
        }, affinity: CpuSet.Of(0, 1, 2));
        await Rt.Until(() => p.State == RtTaskState.Running && p.CurrentCpu == 0, "p running on cpu0");

        RtTask x = rt.Spawn("x", 83, busy.Body, affinity: CpuSet.Of(0));
        await Rt.Until(() => Rt.QueuedOn(rt.Cpus[0], x), "x queued on cpu0 to preempt p");
        await rt.SetAffinityAsync(x, CpuSet.Of(0, 2)).WithTimeout(); // queued inside the mask: it runs on cpu0 next
        RtTask w = rt.Spawn("w", 46, async ctx =>
        {
            Volatile.Write(ref wStarted, 1);
            await busy.Body(ctx);
        }, affinity: CpuSet.Of(1));
        await Rt.Until(() => Rt.QueuedOn(rt.Cpus[1], w), "w queued on cpu1");
        await rt.SetAffinityAsync(w, CpuSet.Of(0, 1)).WithTimeout(); // cpu0 looks busy at 83: w stays
        Assert.True(Rt.QueuedOn(rt.Cpus[1], w));
        Assert.True(Rt.QueuedOn(rt.Cpus[0], x));

        Volatile.Write(ref go, 1);
        await Rt.Until(() => w.State == RtTaskState.Running && w.CurrentCpu == 0, "w running on cpu0");
        Assert.Equal(2, x.CurrentCpu);

        busy.Stop();
        await Task.WhenAll(l.WithTimeout(), h.WithTimeout(), x.WithTimeout(), w.WithTimeout());
        Assert.Equal(1, await p.WithTimeout()); // w ran on cpu0 before p resumed there
    }
}
