using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Balancing;

/// <summary>
/// After a CPU's running task moves away (its mask no longer holds the CPU: the stopper moves it at its
/// next preemption point, or it leaves at a yield), the CPU pulls
/// before it picks, as the kernel's schedule() after the stopper does (balance_rt with the stopper as
/// prev): a higher task queued on another CPU runs there before a lower task queued here. The
/// dispatcher used to pick its own queue's head at once and leave the higher task to the rebalancer's tick.
/// </summary>
public class PullAfterMoveAwayTests
{
    /// <param name="aYields">A passes yields instead of preemption points: it leaves for its mask at a
    /// yield (<c>YieldAndPick</c>), not through the stopper.</param>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AfterTheRunnerMovesAwayForItsMask_TheCpuPullsAHigherTaskBeforeRunningItsLowerOne(bool aYields)
    {
        // cpu1 runs H (90, pinned there) with M (29, allowed anywhere) queued behind it; cpu0 runs A (40)
        // with L (19, pinned to cpu0) queued behind it. M cannot run on cpu0 while A does.
        await using RtScheduler rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.StallThreshold = Rt.NoStallProbe;
        });
        var busy = new BusyUntilStopped();
        int lStarted = 0;
        int mStarted = 0;
        int lSawM = -1;
        async ValueTask YieldingBusy(TaskContext ctx)
        {
            while (!busy.IsStopped)
            {
                await ctx.Yield();
            }
        }

        RtTask h = rt.Spawn("h", 90, busy.Body, affinity: CpuSet.Of(1));
        RtTask a = rt.Spawn("a", 40, aYields ? YieldingBusy : busy.Body, affinity: CpuSet.Of(0));
        await Rt.Until(() => h.State == RtTaskState.Running && a.State == RtTaskState.Running, "h and a running");

        RtTask m = rt.Spawn("m", 29, async ctx =>
        {
            Volatile.Write(ref mStarted, 1);
            await busy.Body(ctx);
        }, affinity: CpuSet.Of(1));
        await Rt.Until(() => Rt.QueuedOn(rt.Cpus[1], m), "m in cpu1's run queue (past its wake list)");
        await rt.SetAffinityAsync(m, CpuSet.Of(0, 1)).WithTimeout(); // allowed anywhere, still queued on cpu1 (cpu0 runs a 40)
        Assert.Equal(1, m.CurrentCpu);

        RtTask l = rt.Spawn("l", 19, async ctx =>
        {
            Volatile.Write(ref lSawM, Volatile.Read(ref mStarted));
            Volatile.Write(ref lStarted, 1);
            await busy.Body(ctx);
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => Rt.QueuedOn(rt.Cpus[0], l), "l in cpu0's run queue");
        Assert.Equal(RtTaskState.Runnable, m.State);
        Assert.Equal(1, m.CurrentCpu);

        // A may run only on cpu1 now: it leaves at its next point (the stopper) or yield, and cpu0's priority drops.
        // (The call completes once A runs inside its new mask: after H ends.)
        Task aMoved = rt.SetAffinityAsync(a, CpuSet.Of(1));
        await Rt.Until(() => m.State == RtTaskState.Running && m.CurrentCpu == 0, "m running on cpu0");
        Assert.Equal(0, Volatile.Read(ref lStarted)); // cpu0 pulled m instead of running l first

        busy.Stop();
        await Task.WhenAll(h.WithTimeout(), a.WithTimeout(), m.WithTimeout(), l.WithTimeout(), aMoved.WithTimeout());
        Assert.Equal(1, lSawM);
    }
}
