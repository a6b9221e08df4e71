using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Hotplug;

/// <summary>
/// An <see cref="RtMutex"/> owner boosted by a waiter keeps its boost when its CPU goes offline: it
/// leaves for another CPU at its inherited priority (running there above a task its own priority is
/// below), and its unlock there drops the boost and hands the mutex on.
/// </summary>
public class BoostedMutexOwnerOfflineTests
{
    [Fact]
    public async Task ABoostedOwner_WhoseCpuGoesOffline_RunsElsewhereAtTheBoost_AndUnlocksThere()
    {
        // mid (30) spins on cpu2; l (10, cpus 1-2) holds m on cpu1; h (50, cpu0) waits for m and lends l
        // 50. cpu1 goes offline: l can only go to cpu2, where it runs only if it still outranks mid.
        await using RtScheduler rt = Rt.Start(cpus: 3);
        var m = new RtMutex(rt, "m");
        int releaseMid = 0, unlock = 0;
        RtTask mid = rt.Spawn("mid", 30, ctx => ctx.SpinUntil(() => Volatile.Read(ref releaseMid) == 1, "mid released"), affinity: CpuSet.Of(2));
        await Rt.Until(() => mid.State == RtTaskState.Running, "mid runs on cpu2");
        (int Cpu, int Prio) inSection = default;
        RtTask<int> l = rt.Spawn<int>("l", 10, async ctx =>
        {
            using (await m.LockAsync(ctx))
            {
                await ctx.SpinUntil(() => Volatile.Read(ref unlock) == 1, "told to unlock");
                inSection = (ctx.RawCpuId, ctx.Task.EffectivePriority);
            }

            return ctx.Task.EffectivePriority;
        }, affinity: CpuSet.Of(1, 2));
        await Rt.Until(() => m.Owner == l && l.CurrentCpu == 1, "l holds m on cpu1");
        RtTask h = rt.Spawn("h", 50, async ctx => { using (await m.LockAsync(ctx)) { } }, affinity: CpuSet.Of(0));
        await Rt.Until(() => l.EffectivePriority == 50, "l lent h's 50");

        await rt.OfflineAsync(1).WithTimeout();
        await Rt.Until(() => l.CurrentCpu == 2 && l.State == RtTaskState.Running, "l runs on cpu2 above mid");
        Assert.Equal(RtTaskState.Runnable, mid.State); // preempted by l
        Volatile.Write(ref unlock, 1);
        Assert.Equal(10, await l.WithTimeout()); // the boost dropped at the unlock
        await h.WithTimeout();
        Assert.Equal((2, 50), inSection);
        Volatile.Write(ref releaseMid, 1);
        await mid.WithTimeout();
        Assert.Null(m.Owner);
    }
}
