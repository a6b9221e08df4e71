using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Balancing;

/// <summary>
/// pull_rt_task takes the best queued task of another CPU that may run here (docs/balancing.md), as
/// the simulator's Pull does (SimEngine.Balance.cs: a migrate-disabled candidate is noted as a pile-up
/// and the scan goes on). A migrate-disabled task queued above a migratable one on the same source
/// must not hide the migratable one from the puller.
/// </summary>
public class PullPastPinnedTests
{
    [Theory]
    [InlineData(BalancePolicy.NoPushRunning)]
    [InlineData(BalancePolicy.KernelFaithful)]
    public async Task APinnedTaskQueuedAboveAMigratableOne_DoesNotHideItFromThePuller(BalancePolicy policy)
    {
        await using RtScheduler rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.Balance = policy;
            o.BalanceTick = TimeSpan.FromSeconds(10); // the tick's push is the safety net, not what is tested
            o.StallThreshold = Rt.NoStallProbe;
        });

        int releaseB = 0, releaseL = 0, lPinned = 0, mRan = 0, mCpu = -1;

        // b keeps cpu1 busy while the pile-up forms on cpu0.
        RtTask b = rt.Spawn("b", 90, async ctx => await ctx.SpinUntil(() => Volatile.Read(ref releaseB) != 0, "b released"), affinity: CpuSet.Of(1));
        await Rt.Until(() => b.State == RtTaskState.Running, "b running on cpu1");

        // l runs on cpu0 inside migrate_disable.
        RtTask l = rt.Spawn("l", 20, async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                Volatile.Write(ref lPinned, 1);
                await ctx.SpinUntil(() => Volatile.Read(ref releaseL) != 0, "l released");
            }
        }, affinity: CpuSet.Of(0, 1));
        await Rt.Until(() => Volatile.Read(ref lPinned) == 1, "l pinned on cpu0");
        Assert.Equal(0, l.CurrentCpu);

        // h preempts l on cpu0: l waits there, pinned.
        RtTask h = rt.Spawn("h", 50, async ctx => await ctx.SpinUntil(() => Volatile.Read(ref mRan) != 0, "m ran"), affinity: CpuSet.Of(0));
        await Rt.Until(() => h.State == RtTaskState.Running && l.State == RtTaskState.Runnable, "h running, l preempted");

        // m (migratable) queues on cpu0 behind h and l: cpu1 runs 90, so cpu0 is the lowest CPU.
        RtTask m = rt.Spawn("m", 15, ctx =>
        {
            Volatile.Write(ref mCpu, ctx.RawCpuId);
            Volatile.Write(ref mRan, 1);
            return ValueTask.CompletedTask;
        }, affinity: CpuSet.Of(0, 1));
        // In cpu0's run queue, not only on its wake list: a pull sees queued tasks, and a wake drained
        // after cpu1 went idle would move m by cpu0's push (task_woken_rt), which is not what is tested.
        await Rt.Until(() => rt.Snapshot().Cpus[0].Queue.Any(q => q.Id == m.Id), "m queued on cpu0");

        (long pushes0, long pulls0, _) = rt.BalanceCounters;

        // cpu1 drops from 90 to idle and pulls: l may not move, m may.
        Volatile.Write(ref releaseB, 1);
        await m.WithTimeout();

        Assert.Equal(1, Volatile.Read(ref mCpu));
        (long pushes1, long pulls1, _) = rt.BalanceCounters;
        Assert.Equal(pulls0 + 1, pulls1);   // cpu1's pull took m ...
        Assert.Equal(pushes0, pushes1);     // ... not the rebalancer's tick (a push, up to BalanceTick later)

        await h.WithTimeout();
        Volatile.Write(ref releaseL, 1);
        await Task.WhenAll(l.WithTimeout(), b.WithTimeout());
    }
}
