using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Balancing;

/// <summary>
/// rt/balance's pass (<c>Balancer.PushWaiting</c>) after a running task's drop: the kernel pulls there
/// (prio_changed_rt's pull, whose pick_highest_pushable_task looks past tasks that may not run on the
/// puller), and the simulator's re-push moves every queued task a lower CPU would run. A head pushable
/// task that no CPU runs below (its affinity allows only busier CPUs) must not hide a lower task queued
/// behind it that the dropped CPU would run now.
/// </summary>
public class PushPastUnmovableHeadTests
{
    [Fact]
    public async Task ARunnerDroppingBelowATaskQueuedBehindAnUnmovableHead_GetsThatTask()
    {
        // cpu0 runs R (50) with A (45, cpu0/cpu1) and B (30, cpu0/cpu2) queued; cpu1 runs H (60); cpu2
        // runs X (40), which lowers itself to 10. A has nowhere to go (cpu1 runs 60); B may run on cpu2
        // now. The 10 s tick leaves the move to the drop's own event.
        await using RtScheduler rt = StartThreeCpus();
        var busy = new BusyUntilStopped();
        int lower = 0;
        RtTask x = rt.Spawn("x", 40, async ctx =>
        {
            await ctx.SpinUntil(() => Volatile.Read(ref lower) == 1, "told to lower itself");
            ctx.SetPriority(10);
            await busy.Body(ctx);
        }, affinity: CpuSet.Of(2));
        (RtTask r, RtTask h, RtTask a, RtTask b) = await QueueBehindAnUnmovableHeadAsync(rt, busy, x, bPriority: 30); // cpu2 runs a 40

        Volatile.Write(ref lower, 1);
        await Rt.Until(() => b.State == RtTaskState.Running && b.CurrentCpu == 2, "b running on cpu2 (x dropped to 10)");
        Assert.True(Rt.QueuedOn(rt.Cpus[0], a)); // still nowhere to go

        busy.Stop();
        await Task.WhenAll(r.WithTimeout(), h.WithTimeout(), x.WithTimeout(), a.WithTimeout(), b.WithTimeout());
    }

    [Fact]
    public async Task AQueuedTaskRaisedAboveAnotherCpusRunner_BehindAnUnmovableHead_MovesThere()
    {
        // cpu0 runs R (50) with A (45, cpu0/cpu1) and B (5, cpu0/cpu2) queued; cpu1 runs H (60); cpu2 runs
        // X (10). B is raised to 30 from the test thread: it may run on cpu2 now, A still nowhere.
        await using RtScheduler rt = StartThreeCpus();
        var busy = new BusyUntilStopped();
        RtTask x = rt.Spawn("x", 10, busy.Body, affinity: CpuSet.Of(2));
        (RtTask r, RtTask h, RtTask a, RtTask b) = await QueueBehindAnUnmovableHeadAsync(rt, busy, x, bPriority: 5); // cpu2 runs a 10

        rt.SetPriority(b, 30);
        await Rt.Until(() => b.State == RtTaskState.Running && b.CurrentCpu == 2, "b running on cpu2 (raised above x)");

        busy.Stop();
        await Task.WhenAll(r.WithTimeout(), h.WithTimeout(), x.WithTimeout(), a.WithTimeout(), b.WithTimeout());
    }

    private static RtScheduler StartThreeCpus() => Rt.Start(o =>
    {
        o.CpuCount = 3;
        o.BalanceTick = TimeSpan.FromSeconds(10); // the move is left to the event under test, not a tick
        o.StallThreshold = Rt.NoStallProbe;
    });

    /// <summary>
    /// cpu0 runs R (50), cpu1 H (60), cpu2 <paramref name="x"/>; then A (45, cpu0/cpu1: nowhere to go while
    /// H runs) and B (<paramref name="bPriority"/>, cpu0, then cpu0/cpu2) are queued on cpu0, B behind A and
    /// still there: it does not outrank what cpu2 runs yet.
    /// </summary>
    private static async Task<(RtTask R, RtTask H, RtTask A, RtTask B)> QueueBehindAnUnmovableHeadAsync(RtScheduler rt, BusyUntilStopped busy, RtTask x, int bPriority)
    {
        RtTask r = rt.Spawn("r", 50, busy.Body, affinity: CpuSet.Of(0));
        RtTask h = rt.Spawn("h", 60, busy.Body, affinity: CpuSet.Of(1));
        await Rt.Until(() => r.State == RtTaskState.Running && h.State == RtTaskState.Running && x.State == RtTaskState.Running, "r, h and x running");

        RtTask a = rt.Spawn("a", 45, busy.Body, affinity: CpuSet.Of(0, 1));
        RtTask b = rt.Spawn("b", bPriority, busy.Body, affinity: CpuSet.Of(0));
        await Rt.Until(() => Rt.QueuedOn(rt.Cpus[0], a) && Rt.QueuedOn(rt.Cpus[0], b), "a and b in cpu0's run queue");
        await rt.SetAffinityAsync(b, CpuSet.Of(0, 2)).WithTimeout();
        Assert.True(Rt.QueuedOn(rt.Cpus[0], b));
        return (r, h, a, b);
    }
}
