using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Balancing;

/// <summary>
/// The stopper preempts the task it moves: push_cpu_stop and migration_cpu_stop run in a stop-class
/// thread, which __schedule(SM_PREEMPT) switches in over the running task (prev != next: nivcsw), and
/// only then move it. The task's and its CPU's preemption counts include that switch-out.
/// </summary>
public class StopperPreemptionTests
{
    [Fact]
    public async Task ARunningTaskMovedByTheStopper_CountsAPreemption_ForTheTaskAndItsCpu()
    {
        // r (10) runs on cpu0 with points; its affinity becomes cpu1 alone: the stopper moves it at its
        // next point (migration_cpu_stop), and it runs on the idle cpu1.
        await using RtScheduler rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.BalanceTick = TimeSpan.FromSeconds(10);
            o.StallThreshold = Rt.NoStallProbe;
        });
        int go = 0;
        RtTask<long> r = rt.Spawn<long>("r", 10, async ctx =>
        {
            await ctx.SpinUntil(() => Volatile.Read(ref go) == 1, "released");
            return ctx.Task.Preemptions;
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => r.State == RtTaskState.Running && r.CurrentCpu == 0, "r running on cpu0");
        long cpuPreemptionsBefore = Volatile.Read(ref rt.Cpus[0].Preemptions);

        await rt.SetAffinityAsync(r, CpuSet.Of(1)).WithTimeout();
        await Rt.Until(() => r.CurrentCpu == 1 && r.State == RtTaskState.Running, "r running on cpu1");
        Volatile.Write(ref go, 1);

        Assert.Equal(1, await r.WithTimeout()); // the stopper preempted it to move it
        Assert.Equal(1, Volatile.Read(ref rt.Cpus[0].Preemptions) - cpuPreemptionsBefore);
        Assert.Equal(1, r.Migrations);
        Assert.Equal(2, r.Switches); // a control: on cpu0, then on cpu1
    }
}
