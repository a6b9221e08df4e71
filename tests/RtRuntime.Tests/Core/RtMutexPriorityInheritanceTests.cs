using System.Runtime.CompilerServices;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// <see cref="RtMutex"/> priority inheritance in the cases review helper-152 checked (all held): a boosted
/// owner changing its own priority keeps the higher of both, from itself or another thread, running or
/// asleep; each unlock drops exactly its own waiters' boost; a chain of three mutexes unwinds fully
/// when its top waiter is cancelled or times out, and a middle waiter's timeout drops only the owner
/// below it; a Normal owner is lent the RT priority and ends at its own; and a timed or cancelled wait
/// racing a handover holds the mutex exactly when its await says so.
/// </summary>
public class RtMutexPriorityInheritanceTests
{
    [Fact]
    public async Task ABoostedOwner_ChangingItsOwnPriority_KeepsTheMaxOfBoth()
    {
        await using RtScheduler rt = Rt.Start(cpus: 2);
        var m = new RtMutex(rt, "m");
        int holds = 0, step = 0;
        var seen = new int[4];
        RtTask o = rt.Spawn("o", 10, async ctx =>
        {
            using (await m.LockAsync(ctx))
            {
                Volatile.Write(ref holds, 1);
                await ctx.SpinUntil(() => Volatile.Read(ref step) == 1, "boosted");
                ctx.SetPriority(20);
                seen[0] = ctx.Task.EffectivePriority;
                ctx.SetPriority(70);
                seen[1] = ctx.Task.EffectivePriority;
                ctx.SetPriority(20);
                seen[2] = ctx.Task.EffectivePriority;
            }

            seen[3] = ctx.Task.EffectivePriority;
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => Volatile.Read(ref holds) == 1, "o holds m");
        RtTask h = rt.Spawn("h", 50, async ctx => { using (await m.LockAsync(ctx)) { } }, affinity: CpuSet.Of(1));
        await Rt.Until(() => o.EffectivePriority == 50, "o boosted");
        Volatile.Write(ref step, 1);
        await o.WithTimeout();
        await h.WithTimeout();
        Assert.Equal([50, 70, 50, 20], seen);
    }

    [Fact]
    public async Task ABoostedOwner_LoweredFromAnotherThread_KeepsTheBoost_ThenDropsToTheNewPriority()
    {
        await using RtScheduler rt = Rt.Start(cpus: 2);
        var m = new RtMutex(rt, "m");
        int holds = 0, step = 0;
        int inSection = -1;
        RtTask<int> o = rt.Spawn<int>("o", 10, async ctx =>
        {
            using (await m.LockAsync(ctx))
            {
                Volatile.Write(ref holds, 1);
                await ctx.SpinUntil(() => Volatile.Read(ref step) == 1, "lowered");
                await ctx.PreemptionPoint();
                inSection = ctx.Task.EffectivePriority;
            }

            return ctx.Task.EffectivePriority;
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => Volatile.Read(ref holds) == 1, "o holds m");
        RtTask h = rt.Spawn("h", 50, async ctx => { using (await m.LockAsync(ctx)) { } }, affinity: CpuSet.Of(1));
        await Rt.Until(() => o.EffectivePriority == 50, "o boosted");
        Assert.True(rt.SetPriority(o, 5));
        await Rt.Until(() => o.BasePriority == 5, "o at 5");
        Volatile.Write(ref step, 1);
        Assert.Equal(5, await o.WithTimeout());
        await h.WithTimeout();
        Assert.Equal(50, inSection);
    }

    [Fact]
    public async Task AChainOfThreeMutexes_UnwindsFully_WhenTheTopWaiterIsCancelled()
    {
        await using RtScheduler rt = Rt.Start(cpus: 2);
        (RtMutex m3, RtTask t1, RtTask t2, RtTask t3, Action release) = await ChainOfThreeAsync(rt);
        using var cts = new CancellationTokenSource();
        RtTask t4 = rt.Spawn("t4", 90, async ctx => { using (await m3.LockAsync(ctx)) { } }, affinity: CpuSet.Of(1), cancellationToken: cts.Token);
        await Rt.Until(() => t1.EffectivePriority == 90 && t2.EffectivePriority == 90 && t3.EffectivePriority == 90, "chain boosted");
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => t4.WithTimeout());
        await Rt.Until(() => t1.EffectivePriority == 12 && t2.EffectivePriority == 12 && t3.EffectivePriority == 12, "chain unwound to t3's 12");
        release();
        await Task.WhenAll(t1.WithTimeout(), t2.WithTimeout(), t3.WithTimeout());
        Assert.Equal((10, 11, 12), (t1.EffectivePriority, t2.EffectivePriority, t3.EffectivePriority));
    }

    [Fact]
    public async Task AMiddleOfAChainThatTimesOut_DropsTheFirstOwnerOnly()
    {
        await using RtScheduler rt = Rt.Start(cpus: 2);
        var m1 = new RtMutex(rt, "m1");
        var m2 = new RtMutex(rt, "m2");
        int release = 0, go = 0;
        RtTask t1 = rt.Spawn("t1", 10, async ctx =>
        {
            using (await m1.LockAsync(ctx))
            {
                await ctx.SpinUntil(() => Volatile.Read(ref release) == 1, "released");
            }
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => m1.Owner == t1, "t1 holds m1");
        RtTask<bool> t2 = rt.Spawn<bool>("t2", 11, async ctx =>
        {
            using (await m2.LockAsync(ctx))
            {
                bool got = await m1.WaitAsync(ctx, TimeSpan.FromMilliseconds(300));
                await ctx.SpinUntil(() => Volatile.Read(ref go) == 1, "go");
                return got;
            }
        }, affinity: CpuSet.Of(1));
        await Rt.Until(() => m1.WaiterCount == 1 && m2.Owner == t2, "t2 waits");
        RtTask t3 = rt.Spawn("t3", 90, async ctx => { using (await m2.LockAsync(ctx)) { } }, affinity: CpuSet.Of(1));
        await Rt.Until(() => m2.WaiterCount == 1, "t3 waits");
        await Rt.Until(() => m1.WaiterCount == 0, "t2 timed out");
        await Rt.Until(() => t1.EffectivePriority == 10, "t1 unboosted");
        await Rt.Until(() => t2.EffectivePriority == 90, "t2 still lent t3's 90");
        Volatile.Write(ref go, 1);
        Assert.False(await t2.WithTimeout());
        await t3.WithTimeout();
        Volatile.Write(ref release, 1);
        await t1.WithTimeout();
        Assert.Equal(11, t2.EffectivePriority);
    }

    [Fact]
    public async Task ANormalOwner_BoostedThenUnlocking_IsNormalAtZeroAgain_AndAnRtTaskQueuedItsCpuRuns()
    {
        await using RtScheduler rt = Rt.Start(cpus: 2);
        var m = new RtMutex(rt, "m");
        int holds = 0, step = 0;
        int inSection = -1, after = -1;
        RtTask n = rt.Spawn("n", 0, async ctx =>
        {
            using (await m.LockAsync(ctx))
            {
                Volatile.Write(ref holds, 1);
                await ctx.SpinUntil(() => Volatile.Read(ref step) == 1, "step");
                await ctx.PreemptionPoint();
                inSection = ctx.Task.EffectivePriority;
                ctx.SetScheduler(SchedPolicy.Fifo, 5);
            }

            after = ctx.Task.EffectivePriority;
        }, SchedPolicy.Normal, CpuSet.Of(0));
        await Rt.Until(() => Volatile.Read(ref holds) == 1, "n holds m");
        RtTask h = rt.Spawn("h", 50, async ctx => { using (await m.LockAsync(ctx)) { } }, affinity: CpuSet.Of(1));
        await Rt.Until(() => n.EffectivePriority == 50, "n boosted");
        Volatile.Write(ref step, 1);
        await n.WithTimeout();
        await h.WithTimeout();
        Assert.Equal((50, 5), (inSection, after));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TimedOrCancelledWaits_RacingAHandover_HoldTheMutexExactlyWhenTheySaySo(bool cancel)
    {
        await using RtScheduler rt = Rt.Start(cpus: 2);
        var m = new RtMutex(rt, "m");
        var rnd = new Random(7);
        for (int i = 0; i < 300; i++)
        {
            int spin = rnd.Next(0, 4000);
            long timeoutUs = rnd.Next(1, 400);
            int holds = 0, ended = 0;
            RtTask o = rt.Spawn("o", 10, async ctx =>
            {
                await m.WaitAsync(ctx);
                Volatile.Write(ref holds, 1);
                await ctx.SpinUntil(() => m.WaiterCount == 1 || Volatile.Read(ref ended) == 1, "waiter listed");
                for (int k = 0; k < spin; k++)
                {
                    Thread.SpinWait(1);
                }

                m.Unlock(ctx);
            }, affinity: CpuSet.Of(0));
            await Rt.Until(() => Volatile.Read(ref holds) == 1, "o holds m");
            using var cts = new CancellationTokenSource();
            RtTask<(bool Got, bool Owns, bool Cancelled)> w = rt.Spawn<(bool, bool, bool)>("w", 50, async ctx =>
            {
                bool got;
                try
                {
                    got = await m.WaitAsync(ctx, cancel ? TimeSpan.MaxValue : TimeSpan.FromMicroseconds(timeoutUs));
                }
                catch (OperationCanceledException)
                {
                    Volatile.Write(ref ended, 1);
                    return (false, m.Owner == ctx.Task, true);
                }

                Volatile.Write(ref ended, 1);

                bool owns = m.Owner == ctx.Task;
                if (got)
                {
                    m.Unlock(ctx);
                }

                return (got, owns, false);
            }, affinity: CpuSet.Of(1), cancellationToken: cts.Token);
            if (cancel)
            {
                await Rt.Until(() => m.WaiterCount == 1 || w.IsCompleted, "w listed");
                for (int k = 0; k < spin; k++)
                {
                    Thread.SpinWait(1);
                }

                await cts.CancelAsync();
            }

            await o.WithTimeout();
            (bool got, bool owns, bool cancelled) = await w.WithTimeout();
            Assert.True(got == owns, $"iteration {i}: got {got}, owns {owns}, cancelled {cancelled}");
            Assert.Null(m.Owner);
            Assert.Equal(0, m.WaiterCount);
            Assert.Equal(10, o.EffectivePriority);
        }

        Assert.Equal(0, rt.BugCount);
    }

    [Fact]
    public async Task AnOwnerHoldingTwoMutexes_EachUnlockDropsExactlyItsOwnWaitersBoost()
    {
        await using RtScheduler rt = Rt.Start(cpus: 2);
        var m1 = new RtMutex(rt, "m1");
        var m2 = new RtMutex(rt, "m2");
        int holds = 0, step = 0;
        var seen = new int[3];
        RtTask o = rt.Spawn("o", 10, async ctx =>
        {
            RtMutexGuard g1 = await m1.LockAsync(ctx);
            RtMutexGuard g2 = await m2.LockAsync(ctx);
            Volatile.Write(ref holds, 1);
            await ctx.SpinUntil(() => Volatile.Read(ref step) == 1, "both waiters");
            await ctx.PreemptionPoint();
            seen[0] = ctx.Task.EffectivePriority;
            g1.Dispose();
            seen[1] = ctx.Task.EffectivePriority;
            g2.Dispose();
            seen[2] = ctx.Task.EffectivePriority;
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => Volatile.Read(ref holds) == 1, "o holds both");
        RtTask a = rt.Spawn("a", 60, async ctx => { using (await m1.LockAsync(ctx)) { } }, affinity: CpuSet.Of(1));
        RtTask b = rt.Spawn("b", 30, async ctx => { using (await m2.LockAsync(ctx)) { } }, affinity: CpuSet.Of(1));
        await Rt.Until(() => m1.WaiterCount == 1 && m2.WaiterCount == 1, "both wait");
        Volatile.Write(ref step, 1);
        await Task.WhenAll(o.WithTimeout(), a.WithTimeout(), b.WithTimeout());
        Assert.Equal([60, 30, 10], seen);
    }

    [Fact]
    public async Task AnAsleepBoostedOwner_LoweredFromAnotherThread_WakesAtTheBoost()
    {
        await using RtScheduler rt = Rt.Start(cpus: 2);
        var m = new RtMutex(rt, "m");
        var wake = new RtEvent();
        int inSection = -1;
        RtTask<int> o = rt.Spawn<int>("o", 10, async ctx =>
        {
            using (await m.LockAsync(ctx))
            {
                await wake.WaitAsync(ctx);
                inSection = ctx.Task.EffectivePriority;
            }

            return ctx.Task.EffectivePriority;
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => m.Owner == o && o.State == RtTaskState.Blocked, "o asleep holding m");
        RtTask h = rt.Spawn("h", 50, async ctx => { using (await m.LockAsync(ctx)) { } }, affinity: CpuSet.Of(1));
        await Rt.Until(() => o.EffectivePriority == 50, "o boosted");
        Assert.True(rt.SetPriority(o, 5));
        await Rt.Until(() => o.BasePriority == 5, "o at 5");
        Assert.Equal(50, o.EffectivePriority);
        wake.Set();
        Assert.Equal(5, await o.WithTimeout());
        await h.WithTimeout();
        Assert.Equal(50, inSection);
    }

    [Fact]
    public async Task AChainOfThreeMutexes_UnwindsFully_WhenTheTopWaiterTimesOut()
    {
        await using RtScheduler rt = Rt.Start(cpus: 2);
        (RtMutex m3, RtTask t1, RtTask t2, RtTask t3, Action release) = await ChainOfThreeAsync(rt);
        RtTask<bool> t4 = rt.Spawn<bool>("t4", 90, async ctx => await m3.WaitAsync(ctx, TimeSpan.FromMilliseconds(200)), affinity: CpuSet.Of(1));
        Assert.False(await t4.WithTimeout());
        await Rt.Until(() => t1.EffectivePriority == 12 && t2.EffectivePriority == 12 && t3.EffectivePriority == 12, "chain unwound to t3's 12");
        release();
        await Task.WhenAll(t1.WithTimeout(), t2.WithTimeout(), t3.WithTimeout());
    }

    /// <summary>
    /// t1 (10, cpu0) holds m1 and spins until released; t2 (11) holds m2 and waits for m1; t3 (12) holds
    /// m3 and waits for m2: a chain whose top waiter the caller adds on m3.
    /// </summary>
    private static async Task<(RtMutex M3, RtTask T1, RtTask T2, RtTask T3, Action Release)> ChainOfThreeAsync(RtScheduler rt)
    {
        var m1 = new RtMutex(rt, "m1");
        var m2 = new RtMutex(rt, "m2");
        var m3 = new RtMutex(rt, "m3");
        var release = new StrongBox<int>();
        RtTask t1 = rt.Spawn("t1", 10, async ctx =>
        {
            using (await m1.LockAsync(ctx))
            {
                await ctx.SpinUntil(() => Volatile.Read(ref release.Value) == 1, "released");
            }
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => m1.Owner == t1, "t1 holds m1");
        RtTask t2 = rt.Spawn("t2", 11, async ctx =>
        {
            using (await m2.LockAsync(ctx))
            using (await m1.LockAsync(ctx))
            {
            }
        }, affinity: CpuSet.Of(1));
        await Rt.Until(() => m1.WaiterCount == 1 && m2.Owner == t2, "t2 waits");
        RtTask t3 = rt.Spawn("t3", 12, async ctx =>
        {
            using (await m3.LockAsync(ctx))
            using (await m2.LockAsync(ctx))
            {
            }
        }, affinity: CpuSet.Of(1));
        await Rt.Until(() => m2.WaiterCount == 1 && m3.Owner == t3, "t3 waits");
        return (m3, t1, t2, t3, () => Volatile.Write(ref release.Value, 1));
    }
}
