using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// <c>rt_mutex_adjust_pi</c>: a priority set for a task waiting on an <see cref="RtMutex"/> moves it
/// among that mutex's waiters (its place follows its new priority) and walks the change down the
/// chain of owners, raising or lowering each boost it reaches.
/// </summary>
public class RtMutexWaiterPriorityTests
{
    [Fact]
    public async Task AWaitersPriorityChange_WalksDownTheChain_UpAndDown()
    {
        // b (10, cpu1) holds m2; a (20, cpu2) holds m1 and waits for m2; h (40, cpu0) waits for m1.
        await using RtScheduler rt = Rt.Start(cpus: 3);
        var m1 = new RtMutex(rt, "m1");
        var m2 = new RtMutex(rt, "m2");
        int release = 0;
        RtTask b = rt.Spawn("b", 10, async ctx =>
        {
            using (await m2.LockAsync(ctx))
            {
                await ctx.SpinUntil(() => Volatile.Read(ref release) == 1, "released"); // points: each boost lands
            }
        }, affinity: CpuSet.Of(1));
        await Rt.Until(() => m2.Owner == b, "b holds m2");
        RtTask a = rt.Spawn("a", 20, async ctx =>
        {
            using (await m1.LockAsync(ctx))
            using (await m2.LockAsync(ctx))
            {
            }
        }, affinity: CpuSet.Of(2));
        await Rt.Until(() => m1.Owner == a && m2.WaiterCount == 1, "a holds m1 and waits for m2");
        RtTask h = rt.Spawn("h", 40, async ctx => { using (await m1.LockAsync(ctx)) { } }, affinity: CpuSet.Of(0));
        await Rt.Until(() => b.EffectivePriority == 40, "h's 40 reaches b through a");

        Assert.True(rt.SetPriority(h, 60));
        await Rt.Until(() => (a.EffectivePriority, b.EffectivePriority) == (60, 60), "raised: a and b at 60");
        Assert.True(rt.SetPriority(h, 30));
        await Rt.Until(() => (a.EffectivePriority, b.EffectivePriority) == (30, 30), "lowered: a and b at 30");
        Assert.True(rt.SetPriority(h, 15));
        await Rt.Until(() => (a.EffectivePriority, b.EffectivePriority) == (20, 20), "below a: a at its own 20, which b inherits");

        Volatile.Write(ref release, 1);
        await new[] { b, a, h }.AllWithTimeout();
        Assert.Equal((10, 20, 15), (b.EffectivePriority, a.EffectivePriority, h.EffectivePriority));
        Assert.Null(m1.Owner);
        Assert.Null(m2.Owner);
    }

    [Fact]
    public async Task AWaiterRaisedAboveAnother_IsHandedTheMutexFirst_AndALoweredOneAfter()
    {
        // l (10, cpu0) holds m; w1 (20, cpu1) and then w2 (15, cpu2) wait. w2 is raised to 30 and w1
        // lowered to 12: the unlock hands m to w2, then w1, and l's boost followed the top waiter.
        await using RtScheduler rt = Rt.Start(cpus: 3);
        var m = new RtMutex(rt, "m");
        var order = new System.Collections.Concurrent.ConcurrentQueue<string>();
        int release = 0;
        RtTask l = rt.Spawn("l", 10, async ctx =>
        {
            using (await m.LockAsync(ctx))
            {
                await ctx.SpinUntil(() => Volatile.Read(ref release) == 1, "released");
            }
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => m.Owner == l, "l holds m");
        RtTask w1 = rt.Spawn("w1", 20, async ctx => { using (await m.LockAsync(ctx)) { order.Enqueue("w1"); } }, affinity: CpuSet.Of(1));
        await Rt.Until(() => m.WaiterCount == 1, "w1 waits");
        RtTask w2 = rt.Spawn("w2", 15, async ctx => { using (await m.LockAsync(ctx)) { order.Enqueue("w2"); } }, affinity: CpuSet.Of(2));
        await Rt.Until(() => m.WaiterCount == 2 && l.EffectivePriority == 20, "w2 waits; l lent w1's 20");

        Assert.True(rt.SetPriority(w2, 30));
        await Rt.Until(() => l.EffectivePriority == 30, "l lent w2's 30");
        Assert.True(rt.SetPriority(w1, 12));
        Assert.True(rt.SetPriority(w2, 25));
        await Rt.Until(() => l.EffectivePriority == 25, "l lent w2's 25, the top now");

        Volatile.Write(ref release, 1);
        await new[] { l, w1, w2 }.AllWithTimeout();
        Assert.Equal(["w2", "w1"], order);
        Assert.Equal(10, l.EffectivePriority);
    }
}
