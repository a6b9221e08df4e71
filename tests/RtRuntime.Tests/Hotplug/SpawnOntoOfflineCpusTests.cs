using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Hotplug;

/// <summary>
/// A spawn whose affinity has no active CPU is refused at once (sched_setaffinity's EINVAL, as
/// <see cref="RtScheduler.SetAffinityAsync"/> refuses the mask), instead of being widened to every CPU
/// with a "no longer affine" warning; the widening stays for tasks whose CPUs go offline later.
/// </summary>
public class SpawnOntoOfflineCpusTests
{
    private static string[] AffinityWarnings(CapturingLoggerFactory logs) =>
        logs.Messages.Where(m => m.Message.Contains("no longer affine", StringComparison.Ordinal)).Select(m => m.Message).ToArray();

    /// <summary>The EINVAL of an affinity with no active CPU: ParamName, the mask, the CPUs active now (also RtTaskSchedulerTests).</summary>
    internal static void AssertEinval(ArgumentOutOfRangeException e, string mask, string active)
    {
        Assert.Equal("affinity", e.ParamName);
        Assert.Equal(mask, e.ActualValue);
        Assert.Contains($"affinity {{{mask}}} has no active CPU (online and not going offline); active now: {{{active}}}.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SpawnSpawnOfTAndRunAsync_AffinityOfOfflineCpusOnly_ThrowEinvalNamingTheActiveCpus()
    {
        // Was: accepted, widened to every CPU with "task t no longer affine to cpu2", and run on cpu0 or cpu1.
        using var logs = new CapturingLoggerFactory();
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 4;
            o.LoggerFactory = logs;
        });
        await rt.OfflineAsync(2).WithTimeout();
        await rt.OfflineAsync(3).WithTimeout();
        long live = rt.LiveTasks;
        int ran = 0;

        AssertEinval(Assert.Throws<ArgumentOutOfRangeException>(() => rt.Spawn("t", 10, _ => { ran++; return ValueTask.CompletedTask; }, affinity: CpuSet.Of(2))), "2", "0-1");
        AssertEinval(Assert.Throws<ArgumentOutOfRangeException>(() => rt.Spawn<int>("t", 10, _ => ValueTask.FromResult(ran++), affinity: CpuSet.Of(2, 3))), "2-3", "0-1");
        AssertEinval(Assert.Throws<ArgumentOutOfRangeException>(() => { _ = rt.RunAsync("t", 10, _ => { ran++; return ValueTask.CompletedTask; }, affinity: CpuSet.Of(3)).AsTask(); }), "3", "0-1");

        Assert.Equal(live, rt.LiveTasks); // nothing admitted
        Assert.Empty(AffinityWarnings(logs));
        Assert.Equal(0, Volatile.Read(ref ran));

        // A mask with one active CPU among offline ones is accepted, unchanged, and runs on that CPU.
        var t = rt.Spawn<int>("mixed", 10, ctx => ValueTask.FromResult(ctx.RawCpuId), affinity: CpuSet.Of(1, 2, 3));
        Assert.Equal(1, await t.WithTimeout());
        Assert.Equal(CpuSet.Of(1, 2, 3), t.Affinity);

        // Online again: the same mask is accepted at once.
        await rt.OnlineAsync(2).WithTimeout();
        var back = rt.Spawn<int>("back", 10, ctx => ValueTask.FromResult(ctx.RawCpuId), affinity: CpuSet.Of(2));
        Assert.Equal(2, await back.WithTimeout());
        Assert.Empty(AffinityWarnings(logs));
    }

    [Fact]
    public async Task Spawn_AffinityOfADyingCpuOnly_ThrowsEinval()
    {
        // CPU 1 is going offline (inactive, still online: its offline waits for a pinned sleeper).
        await using var rt = Rt.Start(cpus: 2);
        var wake = new RtEvent();
        RtTask sleeper = await Rt.SpawnPinnedSleeperAsync(rt, "S", 10, cpu: 1, wake);
        Task offline = rt.OfflineAsync(1);
        Assert.Equal((false, true), (rt.IsActive(1), rt.IsOnline(1)));

        AssertEinval(Assert.Throws<ArgumentOutOfRangeException>(() => rt.Spawn("t", 10, _ => ValueTask.CompletedTask, affinity: CpuSet.Of(1))), "1", "0");

        wake.Set();
        await offline.WithTimeout();
        await sleeper.WithTimeout();
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task Spawn_TaskWhoseOnlyCpuGoesOfflineLater_IsStillWidenedAndRuns()
    {
        // The refusal is at the call only: a task placed while its CPU was active and whose CPU goes offline
        // before it runs again gets select_fallback_rq's widening, as before.
        using var logs = new CapturingLoggerFactory();
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.LoggerFactory = logs;
        });
        var wake = new RtEvent();
        var t = rt.Spawn<int>("U", 10, async ctx =>
        {
            await wake.WaitAsync(ctx);
            return ctx.RawCpuId;
        }, affinity: CpuSet.Of(1));
        await Rt.Until(() => t.State == RtTaskState.Blocked, "U asleep");
        await rt.OfflineAsync(1).WithTimeout();
        wake.Set();

        Assert.Equal(0, await t.WithTimeout());
        Assert.Equal(CpuSet.Of(0, 1), t.Affinity);
        Assert.Equal(["task U no longer affine to cpu1"], AffinityWarnings(logs));
    }
}
