using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Balancing;

/// <summary>
/// push_rt_tasks after a preemption (kernel-reference scenario 9): once the preempter is picked, the
/// kernel pushes the HIGHEST pushable task queued on the CPU (pick_next_pushable_task), then the next,
/// to CPUs busy below them; the simulator does the same after its pick (PushQueuedTasks). A push of the
/// preempted task alone sends the lowest task to the lower CPU while a higher one, queued behind the
/// preempter, waits: the N-highest invariant broken until something else moves it.
/// </summary>
public class PushAfterPreemptTests
{
    [Fact]
    public async Task APreemptionWithTwoTasksQueuedAboveTheRunner_PushesTheHigherWaiterNotThePreemptedTask()
    {
        // cpu1 runs X (90, cpu1 only) with Z (5, cpu1 only) queued; cpu0 runs L (10) without points while
        // H (50) and M (40) queue on cpu0 (cpu1 runs 90). X ends: cpu1 pulls nothing (H and M outrank
        // L, cpu0's runner: they are about to run there) and runs Z. Then L passes a point: H runs on
        // cpu0, and M, not L, must go to cpu1, which runs 5. (cpu1 then switches at Z's preemption
        // point, where it pulls nothing: it runs whatever was pushed to it.)
        await using RtScheduler rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.BalanceTick = TimeSpan.FromSeconds(10); // the move is left to the preemption's push, not a tick
            o.StallThreshold = Rt.NoStallProbe;
        });
        var busy = new BusyUntilStopped();
        int endX = 0, releaseL = 0, lRunning = 0, mStarted = 0, lRanWhileMWaited = -1;
        RtTask x = rt.Spawn("x", 90, ctx => ctx.SpinUntil(() => Volatile.Read(ref endX) == 1, "told to end"), affinity: CpuSet.Of(1));
        await Rt.Until(() => x.State == RtTaskState.Running, "x running on cpu1");
        RtTask z = rt.Spawn("z", 5, busy.Body, affinity: CpuSet.Of(1));
        RtTask l = rt.Spawn("l", 10, async ctx =>
        {
            Volatile.Write(ref lRunning, 1);
            ctx.SpinWithoutPointsUntil(() => Volatile.Read(ref releaseL) == 1, "released");
            await ctx.PreemptionPoint();
            Volatile.Write(ref lRanWhileMWaited, Volatile.Read(ref mStarted) == 0 ? 1 : 0);
        }, affinity: CpuSet.Of(0, 1));
        await Rt.Until(() => Volatile.Read(ref lRunning) == 1 && l.CurrentCpu == 0, "l running on cpu0");

        RtTask h = rt.Spawn("h", 50, ctx => ctx.SpinUntil(() => Volatile.Read(ref mStarted) == 1, "m started"), affinity: CpuSet.Of(0, 1));
        RtTask m = rt.Spawn("m", 40, ctx =>
        {
            Volatile.Write(ref mStarted, 1);
            return ValueTask.CompletedTask;
        }, affinity: CpuSet.Of(0, 1));
        await Rt.Until(() => h.CurrentCpu == 0 && m.CurrentCpu == 0 && h.State == RtTaskState.Runnable && m.State == RtTaskState.Runnable, "h and m waiting on cpu0");

        Volatile.Write(ref endX, 1);
        await x.WithTimeout();
        await Rt.Until(() => z.State == RtTaskState.Running && z.CurrentCpu == 1, "z running on cpu1");
        Assert.Equal(0, Volatile.Read(ref mStarted)); // nothing pulled: h and m outrank cpu0's runner

        Volatile.Write(ref releaseL, 1);
        await Task.WhenAll(l.WithTimeout(), h.WithTimeout(), m.WithTimeout());
        Assert.Equal(0, Volatile.Read(ref lRanWhileMWaited)); // l ran only once m had started

        busy.Stop();
        await z.WithTimeout();
    }
}
