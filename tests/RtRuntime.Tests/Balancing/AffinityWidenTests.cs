using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Balancing;

/// <summary>
/// A queued task whose mask is widened to take in an idle CPU: the request completes at once (its CPU
/// is inside the new mask), and, as in the simulator (SimEngine.Affinity.cs: PushQueuedTasks after the
/// early completion), the task is pushed to the CPU that would run it now instead of waiting behind a
/// higher task until the rebalancer's tick.
/// </summary>
public class AffinityWidenTests
{
    [Fact]
    public async Task WideningAQueuedTasksMask_ToAnIdleCpu_PushesItThere()
    {
        await using RtScheduler rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.BalanceTick = TimeSpan.FromSeconds(10); // the tick's push is the safety net, not what is tested
            o.StallThreshold = Rt.NoStallProbe;
        });

        int wRan = 0, wCpu = -1;
        RtTask h = rt.Spawn("h", 50, async ctx => await ctx.SpinUntil(() => Volatile.Read(ref wRan) != 0, "w ran"), affinity: CpuSet.Of(0));
        await Rt.Until(() => h.State == RtTaskState.Running, "h running on cpu0");
        RtTask w = rt.Spawn("w", 10, ctx =>
        {
            Volatile.Write(ref wCpu, ctx.RawCpuId);
            Volatile.Write(ref wRan, 1);
            return ValueTask.CompletedTask;
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => w.State == RtTaskState.Runnable && rt.Cpus[0].QueuedTop == 10, "w queued on cpu0 behind h");

        Task widened = rt.SetAffinityAsync(w, CpuSet.Of(0, 1));
        Assert.True(widened.IsCompleted); // queued on cpu0, inside the new mask

        // cpu1 idles while w (10) waits on cpu0 under h (50): w may run there now.
        Assert.Equal(1, w.CurrentCpu);

        await w.WithTimeout();
        Assert.Equal(1, Volatile.Read(ref wCpu));
        await h.WithTimeout();
    }
}
