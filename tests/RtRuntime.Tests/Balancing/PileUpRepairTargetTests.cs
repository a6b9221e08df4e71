using RtRuntime.Cpus;
using RtRuntime.Scheduling;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Balancing;

/// <summary>
/// A migrate-disable pile-up repair (WorkConserving) moves the task above the pinned one away so that
/// the pinned task runs: only worth it onto a CPU that runs below the PINNED task (as the pinned
/// wakeup's repair requires, <see cref="BalanceRules.PushRunningHasTarget"/>'s belowPrio). Moved onto a
/// CPU running between the two, it preempts a task that outranks the pinned one, which then waits
/// instead of it: a priority inversion, and, when that task may run nowhere else, a steady state where
/// a CPU runs the pinned task while a higher one waits.
/// </summary>
public class PileUpRepairTargetTests
{
    [Fact]
    public async Task ATaskPreemptingAPinnedOne_IsNotMovedOntoACpuRunningAboveThePinnedTask()
    {
        // cpu1 runs Q (20, cpu1 only); cpu0 runs P (5) inside migrate_disable; R (50, cpu0/cpu1) wakes on
        // cpu0 (the lowest CPU) and preempts P. Moving R to cpu1 would make Q (20) wait while P (5) runs:
        // R must stay on cpu0, at the preemption and at rt/balance's passes after it.
        await using RtScheduler rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.BalanceTick = TimeSpan.FromSeconds(10); // passes come from the events under test and the test's own notify
            o.StallThreshold = Rt.NoStallProbe;
        });
        var busy = new BusyUntilStopped();
        int pPinned = 0, rPoints = 0, rRanOnCpu1 = 0;
        RtTask q = rt.Spawn("q", 20, busy.Body, affinity: CpuSet.Of(1));
        await Rt.Until(() => q.State == RtTaskState.Running, "q running on cpu1");
        RtTask p = rt.Spawn("p", 5, async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                Volatile.Write(ref pPinned, 1);
                await busy.Body(ctx);
            }
        }, affinity: CpuSet.Of(0, 1));
        await Rt.Until(() => Volatile.Read(ref pPinned) == 1 && p.CurrentCpu == 0, "p running pinned on cpu0");

        RtTask r = rt.Spawn("r", 50, async ctx =>
        {
            while (!busy.IsStopped)
            {
                if (ctx.RawCpuId != 0)
                {
                    Volatile.Write(ref rRanOnCpu1, 1);
                }

                Interlocked.Increment(ref rPoints);
                await ctx.PreemptionPoint();
            }
        }, affinity: CpuSet.Of(0, 1));
        await Rt.Until(() => Volatile.Read(ref rPoints) > 0, "r running");

        // A pass of rt/balance now (its pile-up repair asks cpu0's runner to move), then points of r's
        // after it, at any of which a requested push would have moved it.
        // (Two notified passes: the second starts once the first, begun after the notify, has ended.)
        long passes = Volatile.Read(ref rt.Rebalancer.Passes);
        rt.Rebalancer.Notify(BalanceReason.AffinityChanged);
        await Rt.Until(() => Volatile.Read(ref rt.Rebalancer.Passes) >= passes + 1, "an rt/balance pass");
        rt.Rebalancer.Notify(BalanceReason.AffinityChanged);
        await Rt.Until(() => Volatile.Read(ref rt.Rebalancer.Passes) >= passes + 2, "a full rt/balance pass");
        int points = Volatile.Read(ref rPoints);
        await Rt.Until(() => Volatile.Read(ref rPoints) >= points + 10, "ten more points of r");

        Assert.Equal(0, Volatile.Read(ref rRanOnCpu1));
        Assert.Equal(0, r.CurrentCpu);
        Assert.Equal(RtTaskState.Running, q.State); // q never waited under r

        busy.Stop();
        await Task.WhenAll(q.WithTimeout(), p.WithTimeout(), r.WithTimeout());
    }
}
