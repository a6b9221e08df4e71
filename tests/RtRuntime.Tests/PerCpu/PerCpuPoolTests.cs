using RtRuntime.Cpus;
using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.PerCpu;

/// <summary>The per-CPU object pool: exact cache and global counts, batch refill and spill, drain on offline, bad sizes.</summary>
public class PerCpuPoolTests
{
    private sealed class Item(int id)
    {
        public int Id { get; } = id;
    }

    private static Func<Item> Factory()
    {
        int next = 0;
        return () => new Item(Interlocked.Increment(ref next));
    }

    [Fact]
    public async Task RentAndReturn_OnOneCpu_CountsFollowBatchRefillAndSpill()
    {
        await using var rt = Rt.Start(cpus: 2);
        using var pool = new PerCpuPool<Item>(rt, Factory(), cacheCapacity: 8, batch: 4);
        var t = rt.Spawn<List<(long Created, int Cached, int Global)>>("user", 10, async ctx =>
        {
            var steps = new List<(long, int, int)>();
            var mine = new List<Item>();
            for (int i = 0; i < 10; i++)
            {
                mine.Add(await pool.RentAsync(ctx)); // all empty: each rent creates
            }

            steps.Add((pool.Created, pool.CachedOn(1), pool.GlobalCount));
            for (int i = 0; i < 8; i++)
            {
                await pool.ReturnAsync(ctx, mine[i]);
            }

            steps.Add((pool.Created, pool.CachedOn(1), pool.GlobalCount)); // cache full
            await pool.ReturnAsync(ctx, mine[8]); // spills a batch of 4 first
            await pool.ReturnAsync(ctx, mine[9]);
            steps.Add((pool.Created, pool.CachedOn(1), pool.GlobalCount));
            return steps;
        }, affinity: CpuSet.Of(1));

        Assert.Equal([(10L, 0, 0), (10L, 8, 0), (10L, 6, 4)], await t.WithTimeout());

        await rt.OfflineAsync(1).WithTimeout(); // the hotplug step drains cpu1's cache
        Assert.Equal((0, 10), (pool.CachedOn(1), pool.GlobalCount));

        var u = rt.Spawn<(int, long, int, int)>("user0", 10, async ctx =>
        {
            Item item = await pool.RentAsync(ctx); // refills a batch of 4 from the global pool
            return (item.Id, pool.Created, pool.CachedOn(0), pool.GlobalCount);
        }, affinity: CpuSet.Of(0));
        var (id, created, cached0, global) = await u.WithTimeout();
        Assert.InRange(id, 1, 10); // a recycled object, not a new one
        Assert.Equal((10L, 3, 6), (created, cached0, global));
    }

    [Fact]
    public async Task RentAsync_ManyTasksManyCpus_EveryRentedObjectUniqueAndAllAccountedFor()
    {
        const int tasks = 12, rounds = 150;
        await using var rt = Rt.Start(cpus: 4);
        using var pool = new PerCpuPool<Item>(rt, Factory(), cacheCapacity: 6, batch: 2);
        var rented = new System.Collections.Concurrent.ConcurrentDictionary<Item, string>();
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<Item, byte>();
        var all = Enumerable.Range(0, tasks).Select(i => rt.Spawn("user" + i, 10 + (i % 4) * 10, async ctx =>
        {
            var mine = new List<Item>();
            for (int k = 0; k < rounds; k++)
            {
                for (int n = 0; n < 1 + (k + i) % 5; n++)
                {
                    Item item = await pool.RentAsync(ctx);
                    Assert.True(rented.TryAdd(item, ctx.Task.Name), $"object {item.Id} rented twice");
                    seen.TryAdd(item, 0);
                    mine.Add(item);
                    await ctx.PreemptionPoint();
                }

                foreach (Item item in mine)
                {
                    Assert.True(rented.TryRemove(item, out _));
                    await pool.ReturnAsync(ctx, item);
                    await ctx.PreemptionPoint();
                }

                mine.Clear();
                if (k % 30 == i % 30)
                {
                    await ctx.Sleep(TimeSpan.FromMilliseconds(1));
                }
            }
        })).ToList();

        await all.AllWithTimeout();
        Assert.Empty(rented);
        Assert.Equal(pool.Created, seen.Count);
        Assert.Equal(pool.Created, pool.GlobalCount + Enumerable.Range(0, 4).Sum(pool.CachedOn));
    }

    [Fact]
    public async Task ReturnAsync_NullItem_ThrowsInTheTask()
    {
        await using var rt = Rt.Start(cpus: 1);
        using var pool = new PerCpuPool<Item>(rt, Factory());
        var t = rt.Spawn("user", 10, async ctx => await pool.ReturnAsync(ctx, null!));
        await Assert.ThrowsAsync<ArgumentNullException>(() => t.WithTimeout());
        Assert.Equal(0, pool.GlobalCount + pool.CachedOn(0));
        Assert.Null(new LocalLock(rt).OwnerOn(0));
        Assert.Equal(0, rt.NrPinned(0));
    }

    [Theory]
    [InlineData(1, 1, "cacheCapacity")]
    [InlineData(0, 1, "cacheCapacity")]
    [InlineData(-5, 1, "cacheCapacity")]
    [InlineData(65537, 1, "cacheCapacity")]
    [InlineData(8, 0, "batch")]
    [InlineData(8, -1, "batch")]
    [InlineData(8, 9, "batch")]
    public async Task Constructor_SizeOutOfRange_ThrowsNamingTheParameter(int capacity, int batch, string param)
    {
        await using var rt = Rt.Start(cpus: 1);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new PerCpuPool<Item>(rt, Factory(), capacity, batch));
        Assert.Equal(param, e.ParamName);
    }

    [Fact]
    public async Task Constructor_EdgeSizesAndNulls_AcceptedOrRejected()
    {
        await using var rt = Rt.Start(cpus: 1);
        using (new PerCpuPool<Item>(rt, Factory(), cacheCapacity: 2, batch: 2))
        using (new PerCpuPool<Item>(rt, Factory(), cacheCapacity: 65536, batch: 1))
        {
        }

        Assert.Equal("runtime", Assert.Throws<ArgumentNullException>(() => new PerCpuPool<Item>(null!, Factory())).ParamName);
        Assert.Equal("factory", Assert.Throws<ArgumentNullException>(() => new PerCpuPool<Item>(rt, null!)).ParamName);
    }

    [Fact]
    public async Task Dispose_Pool_ItsHotplugStepNoLongerDrains()
    {
        await using var rt = Rt.Start(cpus: 2);
        var pool = new PerCpuPool<Item>(rt, Factory(), cacheCapacity: 8, batch: 4);
        var t = rt.Spawn("user", 10, async ctx => await pool.ReturnAsync(ctx, await pool.RentAsync(ctx)), affinity: CpuSet.Of(1));
        await t.WithTimeout();
        Assert.Equal(1, pool.CachedOn(1));
        pool.Dispose();

        await rt.OfflineAsync(1).WithTimeout();
        Assert.Equal((1, 0), (pool.CachedOn(1), pool.GlobalCount)); // kept in the offline CPU's slot
        Assert.Equal(pool.Created, pool.GlobalCount + pool.CachedOn(0) + pool.CachedOn(1));
    }

    [Fact]
    public async Task RentAsync_FactoryReturnsNull_ThrowsInsteadOfRentingNullAndCountingIt()
    {
        // A factory that returns null: RentAsync handed out null (T is non-nullable) and counted it in
        // Created, an object that can never be returned (ReturnAsync refuses null), so the documented
        // accounting Created == GlobalCount + cached + rented no longer held.
        await using var rt = Rt.Start(cpus: 1);
        using var pool = new PerCpuPool<object>(rt, () => null!);
        var t = rt.Spawn<object?>("user", 10, async ctx => await pool.RentAsync(ctx));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await t.WithTimeout());
        Assert.Equal(0, pool.Created);
        Assert.Equal(0, rt.NrPinned(0));
    }
}
