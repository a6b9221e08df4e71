using RtRuntime.Cpus;
using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.PerCpu;

public class PerCpuSmokeTests
{
    [Fact]
    public async Task Counter_ManyTasksIncrementWithoutGuard_SumIsExact()
    {
        await using var rt = Rt.Start();
        var counter = new PerCpuCounter(rt);
        var tasks = Enumerable.Range(0, 20).Select(i => rt.Spawn("inc" + i, 10 + (i % 5), async ctx =>
        {
            for (int k = 0; k < 1000; k++)
            {
                counter.Increment(ctx);
                await ctx.PreemptionPoint();
            }
        })).ToList();
        foreach (var t in tasks)
        {
            await t.WithTimeout();
        }

        Assert.Equal(20_000, counter.Sum());
    }

    [Fact]
    public async Task LocalLockRt_HigherWaiter_BoostsOwnerUntilUnlock()
    {
        await using var rt = Rt.Start(cpus: 1);
        var ll = new LocalLock(rt);
        var log = new List<string>();
        RtTask? h = null;
        int boosted = -1;
        var t = rt.Spawn("T", 10, async ctx =>
        {
            using (await ll.LockAsync(ctx))
            {
                h = rt.Spawn("H", 50, async hctx =>
                {
                    log.Add("H:wants lock");
                    using (await ll.LockAsync(hctx))
                    {
                        log.Add("H:got lock");
                    }
                });
                await ctx.PreemptionPoint(); // H preempts, blocks on the lock, boosts T
                boosted = ctx.Task.EffectivePriority;
                log.Add("T:unlocking");
            }

            await ctx.PreemptionPoint(); // unlock handed the lock to H, which now outranks T again
            log.Add("T:after unlock prio " + ctx.Task.EffectivePriority);
        });
        await t.WithTimeout();
        await h!.WithTimeout();
        Assert.Equal(50, boosted);
        Assert.Equal(["H:wants lock", "T:unlocking", "H:got lock", "T:after unlock prio 10"], log);
    }

    [Fact]
    public async Task Offline_PinnedTaskPreemptedOnCpu_WaitsThenCompletesAfterUnpin()
    {
        await using var rt = Rt.Start(cpus: 2);
        var release = new RtEvent();
        int cpuAfter = -1;
        var t = rt.Spawn("pinned", 10, async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                await release.WaitAsync(ctx);
            }

            await ctx.PreemptionPoint(); // the dying CPU's stopper moves it here
            cpuAfter = ctx.RawCpuId;
        }, affinity: CpuSet.Of(0, 1));
        await Rt.Until(() => rt.NrPinned(0) + rt.NrPinned(1) == 1, "task pinned");
        int cpu = rt.NrPinned(1) == 1 ? 1 : 0;
        Task offline = rt.OfflineAsync(cpu);
        await Rt.Until(() => !rt.IsActive(cpu), "inactive");
        Assert.False(offline.IsCompleted);
        release.Set();
        await offline.WithTimeout();
        Assert.False(rt.IsOnline(cpu));
        await t.WithTimeout();
        Assert.NotEqual(cpu, cpuAfter);
        await rt.OnlineAsync(cpu).WithTimeout();
        var placed = rt.Spawn("after", 10, _ => ValueTask.CompletedTask, affinity: CpuSet.Of(cpu));
        await placed.WithTimeout();
        Assert.Equal(cpu, placed.CurrentCpu);
    }

    [Fact]
    public async Task Pool_RentReturnAcrossHotplug_NeverLosesOrDuplicates()
    {
        await using var rt = Rt.Start(cpus: 2);
        using var pool = new PerCpuPool<object>(rt, () => new object(), cacheCapacity: 8, batch: 4);
        var rented = new System.Collections.Concurrent.ConcurrentBag<object>();
        var t = rt.Spawn("user", 10, async ctx =>
        {
            var mine = new List<object>();
            for (int i = 0; i < 50; i++)
            {
                mine.Add(await pool.RentAsync(ctx));
            }

            foreach (var o in mine)
            {
                await pool.ReturnAsync(ctx, o);
            }
        }, affinity: CpuSet.Of(1));
        await t.WithTimeout();
        await rt.OfflineAsync(1).WithTimeout();
        Assert.Equal(0, pool.CachedOn(1));
        Assert.Equal(pool.Created, pool.GlobalCount + pool.CachedOn(0));
    }
}
