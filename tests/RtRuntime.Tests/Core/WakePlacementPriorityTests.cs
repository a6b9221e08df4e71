using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// select_task_rq_rt places a waking task by the priority it has then: one set while it slept
/// (sched_setparam on a sleeper changes it at once in the kernel). Here such a request waits for the
/// wakeup's enqueue; the placement before it must read the priority that enqueue gives the task.
/// </summary>
public class WakePlacementPriorityTests
{
    [Fact]
    public async Task ASleeperRaisedWhileAsleep_IsPlacedByItsNewPriority_OnTheCpuBusyBelowIt()
    {
        // t (10, either CPU) ran on cpu0 and awaits a foreign task. cpu0 then runs x (80), cpu1 runs
        // y (30), both pinned. t is raised to 60 and woken: the kernel's placement sees 60, finds its
        // previous CPU busy above it and cpu1 below it, and t preempts y there. Placed by its old
        // priority (10, below every CPU), it went back to cpu0, behind x, while cpu1 ran y (30).
        await using RtScheduler rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.BalanceTick = TimeSpan.FromSeconds(10); // only an event moves a waiting task within the test
            o.StallThreshold = Rt.NoStallProbe;
        });
        var busy = new BusyUntilStopped();
        var gate = new TaskCompletionSource();
        int woke = 0;
        RtTask t = rt.Spawn("t", 10, async ctx =>
        {
            await gate.Task; // a foreign await: blocked, its priority request waits for its wakeup
            Volatile.Write(ref woke, 1);
        }, affinity: CpuSet.Of(0, 1));
        await Rt.Until(() => t.State == RtTaskState.Blocked && t.CurrentCpu == 0, "t blocked after running on cpu0");
        RtTask x = rt.Spawn("x", 80, async ctx =>
        {
            await ctx.SpinUntil(() => Volatile.Read(ref woke) == 1, "t ran");
        }, affinity: CpuSet.Of(0));
        RtTask y = rt.Spawn("y", 30, busy.Body, affinity: CpuSet.Of(1));
        await Rt.Until(() => x.State == RtTaskState.Running && y.State == RtTaskState.Running, "x running on cpu0, y on cpu1");

        rt.SetPriority(t, 60);
        gate.SetResult(); // the continuation is posted to t: its wakeup runs on this thread

        Assert.Equal(1, t.CurrentCpu); // placed on cpu1 (busy at 30), not behind x (80) on cpu0
        await t.WithTimeout();
        Assert.Equal(60, t.EffectivePriority);
        await x.WithTimeout();
        busy.Stop();
        await y.WithTimeout();
    }
}
