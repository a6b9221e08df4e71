using RtRuntime.Cpus;
using RtRuntime.PerCpu;

namespace RtRuntime.Tests.PerCpu;

/// <summary>
/// Returning to a <see cref="PerCpuPool{T}"/> what it has not rented out (an object returned twice, or
/// one it never made), the kernel's double free and free to the wrong cache: refused in strict mode
/// (slub_debug's "Object already free", "Wrong slab cache"), with nothing pooled, so no later rent
/// hands one object to two tasks.
/// </summary>
public class PerCpuPoolMisuseTests
{
    private sealed class Item(int id)
    {
        public int Id { get; } = id;

        public override string ToString() => "item " + Id;
    }

    private static Func<Item> Factory()
    {
        int next = 0;
        return () => new Item(Interlocked.Increment(ref next));
    }

    [Fact]
    public async Task ReturnAsync_SameObjectTwice_SecondRefusedNamingItAndLaterRentsGetDistinctObjects()
    {
        await using var rt = Rt.Start(cpus: 1);
        using var pool = new PerCpuPool<Item>(rt, Factory());
        var t = rt.Spawn<(string Param, string Message, int Cached, Item Second, Item Third)>("user", 10, async ctx =>
        {
            Item item = await pool.RentAsync(ctx);
            _ = await pool.RentAsync(ctx); // a second object out, so the next two rents could come from the cache only
            await pool.ReturnAsync(ctx, item);
            var e = await Assert.ThrowsAsync<ArgumentException>(async () => await pool.ReturnAsync(ctx, item));
            int cached = pool.CachedOn(0);
            return (e.ParamName!, e.Message, cached, await pool.RentAsync(ctx), await pool.RentAsync(ctx));
        }, affinity: CpuSet.Of(0));

        var (param, message, cachedAfter, second, third) = await t.WithTimeout();
        Assert.Equal("item", param);
        Assert.Contains("item (Item 'item 1') was already returned", message, StringComparison.Ordinal);
        Assert.Contains("already returned", message, StringComparison.Ordinal);
        Assert.Contains("only an object rented from this pool and not yet returned", message, StringComparison.Ordinal);
        Assert.Equal(1, cachedAfter); // pooled once, not twice
        Assert.NotSame(second, third); // before: both rents handed out the object returned twice
        Assert.Equal(3, pool.Created);
        Assert.Equal(0, rt.NrPinned(0));
    }

    [Fact]
    public async Task ReturnAsync_TwiceOnTwoCpus_SecondRefused()
    {
        await using var rt = Rt.Start(cpus: 2);
        using var pool = new PerCpuPool<Item>(rt, Factory());
        Item item = await rt.Spawn<Item>("renter", 10, async ctx =>
        {
            Item rented = await pool.RentAsync(ctx);
            await pool.ReturnAsync(ctx, rented);
            return rented;
        }, affinity: CpuSet.Of(0)).WithTimeout();

        var again = rt.Spawn("again", 10, async ctx => await pool.ReturnAsync(ctx, item), affinity: CpuSet.Of(1));

        var e = await Assert.ThrowsAsync<ArgumentException>(() => again.WithTimeout());
        Assert.Contains("already returned", e.Message, StringComparison.Ordinal);
        Assert.Equal((1, 0, 0), (pool.CachedOn(0), pool.CachedOn(1), pool.GlobalCount));
        Assert.Equal(pool.Created, pool.CachedOn(0) + pool.CachedOn(1) + pool.GlobalCount);
    }

    [Fact]
    public async Task ReturnAsync_ObjectNotFromThisPool_RefusedNamingItAndNothingPooled()
    {
        await using var rt = Rt.Start(cpus: 1);
        using var pool = new PerCpuPool<Item>(rt, Factory());
        using var otherPool = new PerCpuPool<Item>(rt, Factory());
        var t = rt.Spawn<(ArgumentException Foreign, ArgumentException OtherPools)>("user", 10, async ctx =>
        {
            var foreign = await Assert.ThrowsAsync<ArgumentException>(async () => await pool.ReturnAsync(ctx, new Item(99)));
            Item theirs = await otherPool.RentAsync(ctx);
            var otherPools = await Assert.ThrowsAsync<ArgumentException>(async () => await pool.ReturnAsync(ctx, theirs));
            await otherPool.ReturnAsync(ctx, theirs); // its own pool still takes it
            return (foreign, otherPools);
        });

        var (foreign, other) = await t.WithTimeout();
        Assert.Equal(("item", "item"), (foreign.ParamName, other.ParamName));
        Assert.Contains("item (Item 'item 99') was not created by this pool", foreign.Message, StringComparison.Ordinal);
        Assert.Contains("item (Item 'item 1') was not created by this pool", other.Message, StringComparison.Ordinal);
        Assert.Equal((0, 0L), (pool.CachedOn(0) + pool.GlobalCount, pool.Created));
        Assert.Equal(1, otherPool.CachedOn(0));
    }

    [Fact]
    public async Task RentAsync_FactoryReturnsAnObjectItMadeBefore_RefusedInsteadOfRentingItTwice()
    {
        await using var rt = Rt.Start(cpus: 1);
        var shared = new Item(7);
        using var pool = new PerCpuPool<Item>(rt, () => shared);
        var t = rt.Spawn<(Item First, string Message)>("user", 10, async ctx =>
        {
            Item first = await pool.RentAsync(ctx);
            var e = await Assert.ThrowsAsync<InvalidOperationException>(async () => await pool.RentAsync(ctx));
            return (first, e.Message);
        });

        var (first, message) = await t.WithTimeout();
        Assert.Same(shared, first);
        Assert.Contains("returned Item 'item 7', an object it had made before", message, StringComparison.Ordinal);
        Assert.Equal(1, pool.Created); // before: 2, and the one object rented to both
        Assert.Equal(0, rt.NrPinned(0));
    }

    [Fact]
    public async Task ReturnAsync_ObjectReturnedTwiceWithoutStrictChecks_IsNotChecked()
    {
        // Documented: the check is strict mode's (as slub_debug's); without it a return costs no lookup.
        await using var rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1 });
        using var pool = new PerCpuPool<Item>(rt, Factory());
        var t = rt.Spawn<int>("user", 10, async ctx =>
        {
            Item item = await pool.RentAsync(ctx);
            await pool.ReturnAsync(ctx, item);
            await pool.ReturnAsync(ctx, item);
            return pool.CachedOn(0);
        });

        Assert.Equal(2, await t.WithTimeout());
    }
}
