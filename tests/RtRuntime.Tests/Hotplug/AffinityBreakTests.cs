using Microsoft.Extensions.Logging;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Hotplug;

/// <summary>
/// Scenario 20: a task whose affinity holds only the dying CPU gets every CPU as its affinity and the
/// warning "task &lt;name&gt; no longer affine to cpu&lt;N&gt;" (select_fallback_rq), whether it was running,
/// queued or asleep.
/// </summary>
public class AffinityBreakTests
{
    private static RtScheduler Start(CapturingLoggerFactory logs, int cpus = 2, int burst = 10) => Rt.Start(o =>
    {
        o.CpuCount = cpus;
        o.LoggerFactory = logs;
        o.LogRateLimit = TimeSpan.FromHours(1); // one window for the whole test
        o.LogRateLimitBurst = burst;
    });

    private static string[] AffinityWarnings(CapturingLoggerFactory logs) =>
        logs.Messages.Where(m => m.Message.Contains("no longer affine", StringComparison.Ordinal))
            .Select(m => $"{m.Level}: {m.Message}")
            .ToArray();

    [Fact]
    public async Task OfflineAsync_RunningTaskAffineOnlyToDyingCpu_MovedWithAllCpusAffinityAndWarning()
    {
        using var logs = new CapturingLoggerFactory();
        await using var rt = Start(logs);
        bool release = false;
        var u = rt.Spawn<(int, int)>("U", 10, async ctx =>
        {
            int before = ctx.RawCpuId;
            await ctx.SpinUntil(() => Volatile.Read(ref release), "U released");
            return (before, ctx.RawCpuId);
        }, affinity: CpuSet.Of(1));
        await Rt.Until(() => u.State == RtTaskState.Running, "U running");

        await rt.OfflineAsync(1).WithTimeout();
        Assert.Equal(CpuSet.Of(0, 1), u.Affinity);
        Assert.Equal(0, u.CurrentCpu);
        Assert.Equal(["Warning: task U no longer affine to cpu1"], AffinityWarnings(logs));
        Volatile.Write(ref release, true);
        Assert.Equal((1, 0), await u.WithTimeout());

        await rt.OnlineAsync(1).WithTimeout();
        Assert.Equal(CpuSet.Of(0, 1), u.Affinity); // overwritten, not restored
    }

    [Fact]
    public async Task Wakeup_SleeperAffineOnlyToOfflinedCpu_WokenOnOtherCpuWithWarning()
    {
        using var logs = new CapturingLoggerFactory();
        await using var rt = Start(logs);
        var wake = new RtEvent();
        var u = rt.Spawn<(int, int)>("U", 10, async ctx =>
        {
            int before = ctx.RawCpuId;
            await wake.WaitAsync(ctx);
            return (before, ctx.RawCpuId);
        }, affinity: CpuSet.Of(1));
        await Rt.Until(() => u.State == RtTaskState.Blocked, "U asleep");

        await rt.OfflineAsync(1).WithTimeout();
        Assert.Empty(AffinityWarnings(logs)); // an asleep task is not touched until it wakes
        wake.Set();
        Assert.Equal((1, 0), await u.WithTimeout());
        Assert.Equal(CpuSet.Of(0, 1), u.Affinity);
        Assert.Equal(["Warning: task U no longer affine to cpu1"], AffinityWarnings(logs));
    }

    [Fact]
    public async Task OfflineAsync_RunningAndQueuedTasksAffineOnlyToDyingCpu_BothMovedEachWarnedOnce()
    {
        using var logs = new CapturingLoggerFactory();
        await using var rt = Start(logs, cpus: 3);
        bool release = false;
        var r = rt.Spawn<int>("R", 50, async ctx =>
        {
            await ctx.SpinUntil(() => Volatile.Read(ref release), "R released");
            return ctx.RawCpuId;
        }, affinity: CpuSet.Of(2));
        await Rt.Until(() => r.State == RtTaskState.Running, "R running");
        var q = rt.Spawn<int>("Q", 10, async ctx =>
        {
            await ctx.PreemptionPoint(); // a migratable task leaves a dying CPU by its next preemption point
            return ctx.RawCpuId;
        }, affinity: CpuSet.Of(2));
        Assert.Equal(RtTaskState.Runnable, q.State); // queued behind R on cpu2

        await rt.OfflineAsync(2).WithTimeout();
        Volatile.Write(ref release, true);
        Assert.NotEqual(2, await r.WithTimeout());
        Assert.NotEqual(2, await q.WithTimeout());
        Assert.Equal(CpuSet.Of(0, 1, 2), r.Affinity);
        Assert.Equal(CpuSet.Of(0, 1, 2), q.Affinity);
        Assert.Equal(
            ["Warning: task Q no longer affine to cpu2", "Warning: task R no longer affine to cpu2"],
            AffinityWarnings(logs).Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public async Task OfflineAsync_TaskWithAnotherActiveCpuInMask_NoWarningAndMaskKept()
    {
        using var logs = new CapturingLoggerFactory();
        await using var rt = Start(logs, cpus: 3);
        bool release = false;
        var u = rt.Spawn<int>("U", 10, async ctx =>
        {
            await ctx.SpinUntil(() => Volatile.Read(ref release), "U released");
            return ctx.RawCpuId;
        }, affinity: CpuSet.Of(1, 2));
        await Rt.Until(() => u.State == RtTaskState.Running, "U running");
        int first = u.CurrentCpu;

        await rt.OfflineAsync(first).WithTimeout();
        Volatile.Write(ref release, true);
        Assert.Equal(first == 1 ? 2 : 1, await u.WithTimeout());
        Assert.Equal(CpuSet.Of(1, 2), u.Affinity);
        Assert.Empty(AffinityWarnings(logs));
        Assert.DoesNotContain(logs.Messages, m => m.Level >= LogLevel.Error);
    }

    [Fact]
    public async Task Wakeups_ManySleepersAffineOnlyToOfflinedCpu_AllWidenedWarningsRateLimited()
    {
        // printk_ratelimit: select_fallback_rq warns at most LogRateLimitBurst times per window, and
        // every task is still widened and runs.
        using var logs = new CapturingLoggerFactory();
        await using var rt = Start(logs, burst: 2);
        var wake = new RtEvent();
        RtTask<int>[] sleepers = Enumerable.Range(0, 5).Select(i => rt.Spawn<int>($"S{i}", 10, async ctx =>
        {
            await wake.WaitAsync(ctx);
            return ctx.RawCpuId;
        }, affinity: CpuSet.Of(1))).ToArray();
        await Rt.Until(() => sleepers.All(s => s.State == RtTaskState.Blocked), "all asleep");

        await rt.OfflineAsync(1).WithTimeout();
        wake.Set();
        foreach (RtTask<int> s in sleepers)
        {
            Assert.Equal(0, await s.WithTimeout());
            Assert.Equal(CpuSet.Of(0, 1), s.Affinity);
        }

        Assert.Equal(2, AffinityWarnings(logs).Length);
        Assert.All(AffinityWarnings(logs), w => Assert.EndsWith("no longer affine to cpu1", w, StringComparison.Ordinal));
    }
}
