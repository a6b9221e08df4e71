using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Hotplug;

/// <summary>
/// set_cpus_allowed_ptr on a migrate-disabled task checks the new mask against cpu_online_mask, not
/// cpu_active_mask (__set_cpus_allowed_ptr_locked: "migration_disabled() tasks must not fail the ...
/// pick"): a CPU going offline (online, inactive) will do. At the task's migrate-enable the stopper's
/// move there fails (is_cpu_allowed: a migratable task needs an active CPU), the request completes all
/// the same, and the task stays where it runs; its next wakeup falls back (select_fallback_rq: its mask
/// widened to every CPU, with the "no longer affine" warning). The simulator's
/// SimAffinityToInactiveCpuTests check the same steps exactly.
/// </summary>
public class AffinityToDyingCpuTests
{
    [Fact]
    public async Task SetAffinityAsync_MigrateDisabledTaskToADyingCpu_IsAccepted_CompletesAtMigrateEnable_AndItsWakeupFallsBack()
    {
        using var logs = new CapturingLoggerFactory();
        await using RtScheduler rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.LoggerFactory = logs;
            o.LogRateLimit = TimeSpan.FromHours(1);
            o.StallThreshold = Rt.NoStallProbe;
        });
        var holdQ = new RtEvent();
        var wakeT = new RtEvent();
        int release = 0;
        (RtTask q, Task offline) = await BeginCpu1OfflineAsync(rt, holdQ);

        RtTask<(int Enabled, int Woken)> t = rt.Spawn<(int, int)>("t", 20, async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                await ctx.SpinUntil(() => Volatile.Read(ref release) == 1, "t released");
            }

            await ctx.PreemptionPoint(); // the stopper its migrate-enable queued: the move to cpu1 fails
            int enabled = ctx.RawCpuId;
            await wakeT.WaitAsync(ctx);
            return (enabled, ctx.RawCpuId);
        }, affinity: CpuSet.Of(0, 1));
        await Rt.Until(() => t.State == RtTaskState.Running && t.MigrateDisableDepth == 1, "t running migrate-disabled on cpu0");

        Task<bool> request = rt.SetAffinityAsync(t, CpuSet.Of(1)); // no active CPU: refused (EINVAL) for a migratable task
        Assert.Equal(CpuSet.Of(1), t.Affinity);
        Assert.False(request.IsCompleted); // it waits for t's migrate-enable

        Volatile.Write(ref release, 1);
        Assert.True(await request.WithTimeout());
        Assert.DoesNotContain(logs.Messages, m => m.Message.Contains("no longer affine", StringComparison.Ordinal));

        await Rt.Until(() => t.State == RtTaskState.Blocked, "t asleep");
        Assert.Equal(CpuSet.Of(1), t.Affinity); // not widened while it ran on: only its wakeup falls back
        wakeT.Set();
        Assert.Equal((0, 0), await t.WithTimeout()); // stayed on cpu0, and woke there (cpu1 inactive)
        Assert.Equal(CpuSet.Of(0, 1), t.Affinity);
        Assert.Equal(
            ["task t no longer affine to cpu1"],
            logs.Messages.Where(m => m.Message.Contains("no longer affine", StringComparison.Ordinal)).Select(m => m.Message));

        holdQ.Set();
        await offline.WithTimeout();
        await q.WithTimeout();
    }

    [Fact]
    public async Task SetAffinityAsync_MigratableTaskToADyingCpuOnly_IsRefused()
    {
        await using RtScheduler rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.StallThreshold = Rt.NoStallProbe;
        });
        var holdQ = new RtEvent();
        (RtTask q, Task offline) = await BeginCpu1OfflineAsync(rt, holdQ);

        var wake = new RtEvent();
        RtTask u = rt.Spawn("u", 20, async ctx => await wake.WaitAsync(ctx), affinity: CpuSet.Of(0, 1));
        await Rt.Until(() => u.State == RtTaskState.Blocked, "u asleep");
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => { _ = rt.SetAffinityAsync(u, CpuSet.Of(1)); });
        Assert.Equal("affinity", e.ParamName);
        Assert.Equal(CpuSet.Of(0, 1), u.Affinity);

        wake.Set();
        holdQ.Set();
        await Task.WhenAll(u.WithTimeout(), q.WithTimeout(), offline.WithTimeout());
    }

    // q sleeps pinned on cpu1 until holdQ is set: cpu1's offline, begun here, waits for it, cpu1
    // inactive but online meanwhile.
    private static async Task<(RtTask Q, Task Offline)> BeginCpu1OfflineAsync(RtScheduler rt, RtEvent holdQ)
    {
        RtTask q = rt.Spawn("q", 10, async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                await holdQ.WaitAsync(ctx);
            }
        }, affinity: CpuSet.Of(1));
        await Rt.Until(() => q.State == RtTaskState.Blocked, "q asleep pinned on cpu1");
        Task offline = rt.OfflineAsync(1);
        await Rt.Until(() => !rt.IsActive(1), "cpu1 inactive");
        Assert.True(rt.IsOnline(1));
        return (q, offline);
    }
}
