using RtRuntime.Cpus;
using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.PerCpu;

/// <summary>
/// Priority inheritance of Rt-model local locks in combination: two nested locks released in either
/// order, an RtMutex held outside or inside a local lock, a waiter's priority set while it waits, a
/// cancel at the top of a chain, an owner ending with two locks held; and the CPU-index checks of
/// <see cref="LocalLock.OwnerOn"/> and <see cref="PerCpuCounter.Read"/>.
/// </summary>
public class LocalLockBoostCombinationTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task NestedLocksUnlockedInEitherOrder_TheBoostFollowsTheLockStillHeld(bool outerFirst)
    {
        await using var rt = Rt.Start(cpus: 1);
        var a = new LocalLock(rt, "A");
        var b = new LocalLock(rt, "B");
        RtTask? w1 = null, w2 = null;
        var t = rt.Spawn<int[]>("T", 10, async ctx =>
        {
            LocalLockGuard ga = await a.LockAsync(ctx);
            LocalLockGuard gb = await b.LockAsync(ctx);
            w1 = rt.Spawn("W1", 30, async c => { using (await a.LockAsync(c)) { } });
            await ctx.Yield();
            w2 = rt.Spawn("W2", 50, async c => { using (await b.LockAsync(c)) { } });
            await ctx.Yield();
            int p0 = ctx.Task.EffectivePriority;
            (outerFirst ? ga : gb).Dispose();
            int p1 = ctx.Task.EffectivePriority;
            (outerFirst ? gb : ga).Dispose();
            int p2 = ctx.Task.EffectivePriority;
            return [p0, p1, p2];
        });
        int[] prios = await t.WithTimeout();
        await w1!.WithTimeout();
        await w2!.WithTimeout();
        // A's release leaves T holding B, whose waiter lends it 50; B's release leaves A's waiter's 30.
        Assert.Equal(outerFirst ? [50, 50, 10] : new[] { 50, 30, 10 }, prios);
        Assert.Equal(0, rt.NrPinned(0));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task RtMutexAndALocalLockNested_EachUnlockDropsOnlyItsOwnWaitersBoost(bool mutexOutside)
    {
        await using var rt = Rt.Start(cpus: 2);
        var m = new RtMutex(rt, "m");
        var l = new LocalLock(rt, "l");
        RtTask? x = null, w = null;
        var t = rt.Spawn<int[]>("T", 10, async ctx =>
        {
            IDisposable outer = mutexOutside ? await m.LockAsync(ctx) : await l.LockAsync(ctx);
            IDisposable inner = mutexOutside ? await l.LockAsync(ctx) : await m.LockAsync(ctx);
            x = rt.Spawn("X", 40, async c => { using (await m.LockAsync(c)) { } }, affinity: CpuSet.Of(1));
            await ctx.SpinUntil(() => x.State == RtTaskState.Blocked && ctx.Task.EffectivePriority == 40, "X blocked on m and T boosted");
            w = rt.Spawn("W", 50, async c => { using (await l.LockAsync(c)) { } }, affinity: CpuSet.Of(0));
            await ctx.Yield();
            int p0 = ctx.Task.EffectivePriority;
            inner.Dispose();
            int p1 = ctx.Task.EffectivePriority;
            outer.Dispose();
            int p2 = ctx.Task.EffectivePriority;
            return [p0, p1, p2];
        }, affinity: CpuSet.Of(0));
        int[] prios = await t.WithTimeout();
        await x!.WithTimeout();
        await w!.WithTimeout();

        // The inner unlock keeps the outer lock's waiter's boost (the mutex's 40, or the local lock's 50); the outer's drops it.
        Assert.Equal(mutexOutside ? [50, 40, 10] : new[] { 50, 50, 10 }, prios);
    }

    [Fact]
    public async Task WaitersPrioritySetWhileItWaits_TheOwnersBoostFollowsDownAndUp()
    {
        await using var rt = Rt.Start(cpus: 1);
        var l = new LocalLock(rt, "l");
        var hold = new RtEvent();
        RtTask? w = null;
        var t = rt.Spawn<int>("T", 10, async ctx =>
        {
            using (await l.LockAsync(ctx))
            {
                w = rt.Spawn("W", 50, async c => { using (await l.LockAsync(c)) { } });
                await ctx.Yield();
                await hold.WaitAsync(ctx);
            }

            return ctx.Task.EffectivePriority;
        });
        await Rt.Until(() => w is { State: RtTaskState.Blocked } && t.State == RtTaskState.Blocked, "both blocked");
        Assert.Equal(50, t.EffectivePriority);
        rt.SetPriority(w!, 20);
        await Rt.Until(() => t.EffectivePriority == 20, "T unboosted to 20");
        rt.SetPriority(w!, 60);
        await Rt.Until(() => t.EffectivePriority == 60, "T boosted to 60");
        hold.Set();
        Assert.Equal(10, await t.WithTimeout());
        await w!.WithTimeout();
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(2)]
    public async Task OwnerOnAndCounterRead_CpuOutOfRange_ThrowNamingTheArgument(int cpu)
    {
        await using var rt = Rt.Start(cpus: 2);
        var l = new LocalLock(rt, "l");
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => l.OwnerOn(cpu));
        Assert.Equal("cpu", e.ParamName);
        Assert.Contains(cpu.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message, StringComparison.Ordinal);
        var c = new PerCpuCounter(rt);
        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => c.Read(cpu));
        Assert.Equal("cpu", e2.ParamName);
    }

    [Fact]
    public async Task CancelOfTheWaiterAtTheTopOfAChain_UnboostsEveryOwnerOnIt()
    {
        await using var rt = Rt.Start(cpus: 1);
        var a = new LocalLock(rt, "A");
        var b = new LocalLock(rt, "B");
        var hold = new RtEvent();
        RtTask? u = null, w = null;
        var t = rt.Spawn<int>("T", 10, async ctx =>
        {
            using (await a.LockAsync(ctx))
            {
                u = rt.Spawn("U", 20, async c =>
                {
                    using (await b.LockAsync(c))
                    {
                        using (await a.LockAsync(c))
                        {
                        }
                    }
                });
                await ctx.Yield();
                w = rt.Spawn("W", 50, async c => { using (await b.LockAsync(c)) { } });
                await ctx.Yield();
                await hold.WaitAsync(ctx);
            }

            return ctx.Task.EffectivePriority;
        });
        await Rt.Until(() => w is { State: RtTaskState.Blocked } && u is { State: RtTaskState.Blocked } && t.State == RtTaskState.Blocked, "all blocked");
        Assert.Equal((50, 50), (t.EffectivePriority, u!.EffectivePriority));
        w!.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => w.WithTimeout());
        Assert.Equal((20, 20), (t.EffectivePriority, u.EffectivePriority));
        hold.Set();
        Assert.Equal(10, await t.WithTimeout());
        await u.WithTimeout();
        Assert.Equal(0, rt.NrPinned(0));
    }

    [Fact]
    public async Task OwnerEndsHoldingTwoNestedLocksWithWaiters_BothHandedOver_OneReport()
    {
        await using var rt = Rt.Start(cpus: 1);
        var a = new LocalLock(rt, "A");
        var b = new LocalLock(rt, "B");
        var reports = new System.Collections.Concurrent.ConcurrentQueue<BugReport>();
        rt.BugReported += reports.Enqueue;
        RtTask? w1 = null, w2 = null;
        var t = rt.Spawn("T", 10, async ctx =>
        {
            _ = await a.LockAsync(ctx);
            _ = await b.LockAsync(ctx);
            w1 = rt.Spawn("W1", 30, async c => { using (await a.LockAsync(c)) { } });
            await ctx.Yield();
            w2 = rt.Spawn("W2", 50, async c => { using (await b.LockAsync(c)) { } });
            await ctx.Yield();
        });
        await t.WithTimeout();
        await w1!.WithTimeout();
        await w2!.WithTimeout();
        Assert.Null(a.OwnerOn(0));
        Assert.Null(b.OwnerOn(0));
        Assert.Equal(0, rt.NrPinned(0));
        Assert.Single(reports, r => r.Kind == BugKind.LockHeldAtExit);
    }
}
