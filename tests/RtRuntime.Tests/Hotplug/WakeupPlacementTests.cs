using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Hotplug;

/// <summary>Scenario 19 and onlining: wakeups and spawns avoid inactive CPUs; an onlined CPU takes tasks at once.</summary>
public class WakeupPlacementTests
{
    [Fact]
    public async Task Wakeup_PreviousCpuInactiveButOnline_PlacedOnActiveCpuEvenWhenBusier()
    {
        // B(90) busy on one CPU (cb), V and P started on the idle other (d); P's pin keeps d inactive but online.
        await using var rt = Rt.Start(cpus: 2);
        bool releaseB = false;
        var wakeV = new RtEvent();
        var wakeP = new RtEvent();
        var b = rt.Spawn("B", 90, ctx => ctx.SpinUntil(() => Volatile.Read(ref releaseB), "B released"));
        await Rt.Until(() => b.State == RtTaskState.Running, "B running");
        int cb = b.CurrentCpu, d = 1 - cb;
        var v = rt.Spawn<(int, int)>("V", 10, async ctx =>
        {
            int before = ctx.RawCpuId;
            await wakeV.WaitAsync(ctx);
            return (before, ctx.RawCpuId);
        }, affinity: CpuSet.Of(0, 1));
        await Rt.Until(() => v.State == RtTaskState.Blocked, "V asleep");
        var p = rt.Spawn("P", 10, async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                await wakeP.WaitAsync(ctx);
            }

            await ctx.PreemptionPoint();
        });
        await Rt.Until(() => p.State == RtTaskState.Blocked && rt.NrPinned(d) == 1, "P asleep, pinned to d");

        Task offline = rt.OfflineAsync(d);
        Assert.False(rt.IsActive(d));
        wakeV.Set();
        Assert.Equal(cb, v.CurrentCpu); // placed at the wakeup, behind B, not on the idle inactive d
        Assert.Equal(RtTaskState.Runnable, v.State);
        Assert.False(offline.IsCompleted);

        Volatile.Write(ref releaseB, true);
        Assert.Equal((d, cb), await v.WithTimeout());
        wakeP.Set();
        await offline.WithTimeout();
        await p.WithTimeout();
        await b.WithTimeout();
        Assert.Equal(1, v.Migrations);
    }

    [Fact]
    public async Task Wakeup_PreviousCpuOffline_RunsOnOnlineCpu()
    {
        await using var rt = Rt.Start(cpus: 2);
        var wake = new RtEvent();
        var v = rt.Spawn<(int, int)>("V", 10, async ctx =>
        {
            int before = ctx.RawCpuId;
            await wake.WaitAsync(ctx);
            return (before, ctx.RawCpuId);
        }, affinity: CpuSet.Of(1, 0));
        await Rt.Until(() => v.State == RtTaskState.Blocked, "V asleep");
        int first = v.CurrentCpu;
        await rt.OfflineAsync(first).WithTimeout();
        wake.Set();
        Assert.Equal((first, 1 - first), await v.WithTimeout());
        Assert.Equal(CpuSet.Of(0, 1), v.Affinity); // a mask that still has an active CPU is not touched
    }

    [Fact]
    public async Task Spawn_WhileCpuOffline_NeverPlacedThereThenOnlineAcceptsAtOnce()
    {
        await using var rt = Rt.Start(cpus: 3);
        await rt.OfflineAsync(2).WithTimeout();
        Assert.Equal(CpuSet.Of(0, 1), rt.OnlineCpus);
        var tasks = Enumerable.Range(0, 12).Select(i => rt.Spawn<int>("t" + i, 10 + i, async ctx =>
        {
            await ctx.Yield();
            await ctx.PreemptionPoint();
            return ctx.RawCpuId;
        })).ToList();
        foreach (var t in tasks)
        {
            Assert.NotEqual(2, await t.WithTimeout());
        }

        await rt.OnlineAsync(2).WithTimeout();
        Assert.Equal((true, true), (rt.IsOnline(2), rt.IsActive(2)));
        Assert.Equal(CpuSet.Of(0, 1, 2), rt.OnlineCpus);
        var placed = rt.Spawn<int>("placed", 10, ctx => ValueTask.FromResult(ctx.RawCpuId), affinity: CpuSet.Of(2));
        Assert.Equal(2, placed.CurrentCpu); // queued there at spawn
        Assert.Equal(2, await placed.WithTimeout());
        Assert.Equal(2, rt.HotplugOperations);
    }
}
