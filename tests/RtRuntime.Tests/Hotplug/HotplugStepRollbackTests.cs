using Microsoft.Extensions.Logging;
using RtRuntime.Cpus;
using RtRuntime.Hotplug;

namespace RtRuntime.Tests.Hotplug;

/// <summary>
/// A failed online, as the kernel's cpuhp_up_callbacks handles it (cpuhp_reset_state, then the way back
/// down): the steps that ran before the failing one get their offline step in reverse order on the
/// CPU's thread, the CPU stays offline (it was never active), and the error names the failing step.
/// </summary>
public class HotplugStepRollbackTests
{
    private static HotplugCallback Recording(string name, EventLog log) => new(
        name,
        cpu => log.Add($"{name}:online cpu{cpu} on {Thread.CurrentThread.Name}"),
        cpu => log.Add($"{name}:offline cpu{cpu} on {Thread.CurrentThread.Name}"));

    [Fact]
    public async Task OnlineAsync_AStepThrows_TheStepsBeforeItRollBackInReverse_TheCpuStaysOfflineAndTakesNoTask()
    {
        // Before: the other steps ran (C's online too), the CPU came online and active, and OnlineAsync
        // threw an AggregateException: a subsystem whose step failed was left half set up on a CPU in use.
        using var logs = new CapturingLoggerFactory();
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.LoggerFactory = logs;
        });
        await rt.OfflineAsync(1).WithTimeout();
        var log = new EventLog();
        using var a = rt.RegisterHotplugNoCalls(Recording("A", log));
        using var b = rt.RegisterHotplugNoCalls(Recording("B", log));
        var bad = rt.RegisterHotplugNoCalls(new HotplugCallback("bad", _ => throw new InvalidOperationException("boom up"), cpu => log.Add($"bad:offline cpu{cpu}")));
        using var c = rt.RegisterHotplugNoCalls(Recording("C", log));

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => rt.OnlineAsync(1).WithTimeout());
        Assert.Equal("Hotplug step 'bad' failed taking cpu1 online: boom up; cpu1 stays offline, and the steps that had run on it ran their offline step, in reverse order (B, A).", e.Message);
        Assert.Equal("boom up", e.InnerException?.Message);
        Assert.Equal(["A:online cpu1 on rt/cpu1", "B:online cpu1 on rt/cpu1", "B:offline cpu1 on rt/cpu1", "A:offline cpu1 on rt/cpu1"], log.Snapshot());
        Assert.Equal((false, false), (rt.IsOnline(1), rt.IsActive(1)));
        Assert.Equal(1, rt.HotplugOperations); // the offline only
        Assert.Throws<ArgumentOutOfRangeException>(() => rt.Spawn("on1", 10, _ => ValueTask.CompletedTask, affinity: CpuSet.Of(1)));
        Assert.Contains(logs.Messages, m => m.Level == LogLevel.Error
            && m.Message.StartsWith("Hotplug step 'bad' failed taking cpu1 online; the steps that ran before it are rolled back", StringComparison.Ordinal));

        bad.Dispose();
        await rt.OnlineAsync(1).WithTimeout();
        Assert.Equal((true, true), (rt.IsOnline(1), rt.IsActive(1)));
        var t = rt.Spawn<int>("on1", 10, ctx => ValueTask.FromResult(ctx.RawCpuId), affinity: CpuSet.Of(1));
        Assert.Equal(1, await t.WithTimeout());
    }

    [Fact]
    public async Task OnlineAsync_FirstStepThrows_NothingToRollBack_AndARollbackStepThatThrowsDoesNotStopTheRollback()
    {
        await using var rt = Rt.Start(cpus: 2);
        await rt.OfflineAsync(1).WithTimeout();
        var log = new EventLog();
        var first = rt.RegisterHotplugNoCalls(new HotplugCallback("first", _ => throw new InvalidOperationException("no"), cpu => log.Add($"first:offline cpu{cpu}")));

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => rt.OnlineAsync(1).WithTimeout());
        Assert.Equal("Hotplug step 'first' failed taking cpu1 online: no; cpu1 stays offline, and no step had run on it before.", e.Message);
        Assert.Empty(log.Snapshot());
        first.Dispose();

        using var a = rt.RegisterHotplugNoCalls(Recording("A", log));
        using var undoThrows = rt.RegisterHotplugNoCalls(new HotplugCallback("undo-throws", cpu => log.Add($"undo-throws:online cpu{cpu}"), _ => throw new InvalidOperationException("WARN")));
        using var bad = rt.RegisterHotplugNoCalls(new HotplugCallback("bad", _ => throw new InvalidOperationException("boom up"), null));
        e = await Assert.ThrowsAsync<InvalidOperationException>(() => rt.OnlineAsync(1).WithTimeout());
        Assert.StartsWith("Hotplug step 'bad' failed taking cpu1 online: boom up; cpu1 stays offline", e.Message, StringComparison.Ordinal);
        Assert.Equal(["A:online cpu1 on rt/cpu1", "undo-throws:online cpu1", "A:offline cpu1 on rt/cpu1"], log.Snapshot());
        Assert.False(rt.IsOnline(1));
    }
}
