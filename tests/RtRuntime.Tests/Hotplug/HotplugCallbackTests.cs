using Microsoft.Extensions.Logging;
using RtRuntime.Hotplug;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Hotplug;

/// <summary>
/// Hotplug steps: online in registration order, offline in reverse, both on the CPU's own thread;
/// offline steps run after the CPU is vacated; unregistering removes a step; a failing step is
/// reported without stopping the others or the state change.
/// </summary>
public class HotplugCallbackTests
{
    private static HotplugCallback Recording(string name, EventLog log, RtScheduler rt) => new(
        name,
        cpu => log.Add($"{name}:online cpu{cpu} on {Thread.CurrentThread.Name} online {rt.IsOnline(cpu)} active {rt.IsActive(cpu)}"),
        cpu => log.Add($"{name}:offline cpu{cpu} on {Thread.CurrentThread.Name} online {rt.IsOnline(cpu)} active {rt.IsActive(cpu)} nr_pinned {rt.NrPinned(cpu)}"));

    [Fact]
    public async Task RegisterHotplug_ThreeSteps_OfflineInReverseOnlineInOrderOnTheCpusThread()
    {
        await using var rt = Rt.Start(cpus: 3);
        var log = new EventLog();
        using var a = rt.RegisterHotplugNoCalls(Recording("A", log, rt));
        using var b = rt.RegisterHotplugNoCalls(Recording("B", log, rt));
        using var c = rt.RegisterHotplugNoCalls(Recording("C", log, rt));

        await rt.OfflineAsync(2).WithTimeout();
        await rt.OnlineAsync(2).WithTimeout();
        Assert.Equal(
            [
                "C:offline cpu2 on rt/cpu2 online True active False nr_pinned 0",
                "B:offline cpu2 on rt/cpu2 online True active False nr_pinned 0",
                "A:offline cpu2 on rt/cpu2 online True active False nr_pinned 0",
                "A:online cpu2 on rt/cpu2 online True active False",
                "B:online cpu2 on rt/cpu2 online True active False",
                "C:online cpu2 on rt/cpu2 online True active False",
            ],
            log.Snapshot());
        Assert.True(rt.IsActive(2));
    }

    [Fact]
    public async Task RegisterHotplug_DisposedRegistration_StepNoLongerRuns()
    {
        await using var rt = Rt.Start(cpus: 2);
        var log = new EventLog();
        using var a = rt.RegisterHotplugNoCalls(Recording("A", log, rt));
        var b = rt.RegisterHotplugNoCalls(Recording("B", log, rt));
        using var c = rt.RegisterHotplugNoCalls(Recording("C", log, rt));
        b.Dispose();
        b.Dispose(); // idempotent

        await rt.OfflineAsync(1).WithTimeout();
        await rt.OnlineAsync(1).WithTimeout();
        Assert.Equal(["C:offline", "A:offline", "A:online", "C:online"], log.Snapshot().Select(e => e[..e.IndexOf(" cpu", StringComparison.Ordinal)]).ToArray());
    }

    [Fact]
    public async Task RegisterHotplug_SameCallbackTwice_DisposingOneTwiceLeavesTheOther()
    {
        await using var rt = Rt.Start(cpus: 2);
        var log = new EventLog();
        HotplugCallback same = Recording("S", log, rt);
        var first = rt.RegisterHotplugNoCalls(same);
        using var second = rt.RegisterHotplugNoCalls(same with { }); // an equal record: a distinct registration
        first.Dispose();
        first.Dispose(); // must not take the second registration with it

        await rt.OfflineAsync(1).WithTimeout();
        await rt.OnlineAsync(1).WithTimeout();
        Assert.Equal(["S:offline", "S:online"], log.Snapshot().Select(e => e[..e.IndexOf(" cpu", StringComparison.Ordinal)]).ToArray());
    }

    [Fact]
    public async Task OfflineStep_RunsOnlyAfterPinnedTaskLeft()
    {
        await using var rt = Rt.Start(cpus: 2);
        var log = new EventLog();
        bool release = false;
        using var step = rt.RegisterHotplugNoCalls(new HotplugCallback("step", null, cpu => log.Add($"offline step cpu{cpu} nr_pinned {rt.NrPinned(cpu)}")));
        var p = rt.Spawn("P", 10, async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                await ctx.SpinUntil(() => Volatile.Read(ref release), "P released");
                log.Add($"P:unpinning cpu{ctx.CpuId}");
            }

            await ctx.PreemptionPoint();
        });
        await Rt.Until(() => rt.NrPinned(0) + rt.NrPinned(1) == 1, "P pinned");
        int c = rt.NrPinned(0) == 1 ? 0 : 1;

        Task offline = rt.OfflineAsync(c);
        Assert.False(rt.IsActive(c));
        Assert.Empty(log.Snapshot());
        Volatile.Write(ref release, true);
        await offline.WithTimeout();
        await p.WithTimeout();
        Assert.Equal([$"P:unpinning cpu{c}", $"offline step cpu{c} nr_pinned 0"], log.Snapshot());
    }

    [Fact]
    public async Task OfflineAsync_StepThrows_OtherStepsRunCpuGoesOfflineAndErrorsAggregated()
    {
        await using var rt = Rt.Start(cpus: 2);
        var log = new EventLog();
        using var a = rt.RegisterHotplugNoCalls(Recording("A", log, rt));
        using var bad = rt.RegisterHotplugNoCalls(new HotplugCallback("bad", null, _ => throw new InvalidOperationException("boom down")));
        using var c = rt.RegisterHotplugNoCalls(Recording("C", log, rt));

        var down = await Assert.ThrowsAsync<AggregateException>(() => rt.OfflineAsync(1).WithTimeout());
        Assert.Contains("Hotplug step 'bad' failed taking cpu1 offline: boom down", Assert.Single(down.InnerExceptions).Message, StringComparison.Ordinal);
        Assert.Equal((false, false), (rt.IsOnline(1), rt.IsActive(1)));

        await rt.OnlineAsync(1).WithTimeout();
        Assert.Equal((true, true), (rt.IsOnline(1), rt.IsActive(1)));
        Assert.Equal(["C:offline", "A:offline", "A:online", "C:online"], log.Snapshot().Select(e => e[..e.IndexOf(" cpu", StringComparison.Ordinal)]).ToArray());
        Assert.Equal(2, rt.HotplugOperations);
    }

    [Fact]
    public async Task AStepThatThrows_IsLoggedAsAnError_EvenWhenNobodyAwaitsTheOperation()
    {
        using var logs = new CapturingLoggerFactory();
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.LoggerFactory = logs;
        });
        using var bad = rt.RegisterHotplugNoCalls(new HotplugCallback("bad", _ => throw new InvalidOperationException("boom up"), _ => throw new InvalidOperationException("boom down")));

        Task down = rt.OfflineAsync(1); // fire and forget: its AggregateException is never observed below
        await Rt.Until(() => down.IsCompleted, "the offline done");
        Assert.Contains(logs.Messages, m => m.Level == LogLevel.Error
            && m.Message.Contains("Hotplug step 'bad' failed taking cpu1 offline", StringComparison.Ordinal));
        Assert.True(down.IsFaulted);
        _ = down.Exception; // observed here, after the log was checked
    }

    [Fact]
    public async Task RegisterHotplug_Null_Throws()
    {
        await using var rt = Rt.Start(cpus: 1);
        Assert.Throws<ArgumentNullException>(() => rt.RegisterHotplugNoCalls(null!));
    }

    [Fact]
    public async Task RegisterHotplug_AsyncStep_ThrowsNamingTheStepAndRegistersNothing()
    {
        // An async lambda given as a step is async void: it returned at its first await, and the offline
        // went on (the CPU went offline, OfflineAsync returned) with the rest of the step not run, to run
        // later on the ThreadPool, off the CPU's thread (a pool's drain then races the tasks on the CPU
        // once it is back; a throw there crashes the process). Before: accepted, and the offline
        // completed with the step's tail still waiting ("drained" false, asserted false below).
        await using var rt = Rt.Start(cpus: 2);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool drained = false;
        HotplugRegistration? registration = null;
        var e = Record.Exception(() => registration = rt.RegisterHotplugNoCalls(new HotplugCallback("async-drain", null, async cpu =>
        {
            await gate.Task;
            drained = true;
        })));
        try
        {
            await rt.OfflineAsync(1).WithTimeout();
            await rt.OnlineAsync(1).WithTimeout();
            Assert.False(drained); // whether the step was refused or its tail is still pending
            var refused = Assert.IsType<ArgumentException>(e);
            Assert.Equal("callback", refused.ParamName);
            Assert.Contains("callback.Offline of hotplug step 'async-drain' is an async method or lambda", refused.Message, StringComparison.Ordinal);
            Assert.Contains("a step must be synchronous", refused.Message, StringComparison.Ordinal);
            Assert.Null(registration);

            Action<int> asyncOnline = async _ => await Task.Yield();
            var online = Assert.Throws<ArgumentException>(() => rt.RegisterHotplugNoCalls(new HotplugCallback("async-up", asyncOnline + (_ => { }), null)));
            Assert.Contains("callback.Online of hotplug step 'async-up' is an async method or lambda", online.Message, StringComparison.Ordinal);
        }
        finally
        {
            registration?.Dispose();
            gate.SetResult(); // a step accepted before the fix ends now, without throwing
        }
    }

    [Theory]
    [InlineData(null, "null")]
    [InlineData("", "\"\"")]
    [InlineData("  ", "\"  \"")]
    public async Task RegisterHotplug_NameNullOrBlank_ThrowsNamingTheArgumentAndValueAndRegistersNothing(string? name, string shown)
    {
        // Before: accepted, and a throwing step was reported as "Hotplug step '' failed ...", naming no one.
        await using var rt = Rt.Start(cpus: 2);
        int ran = 0;
        var e = Assert.Throws<ArgumentException>(() => rt.RegisterHotplugNoCalls(new HotplugCallback(name!, _ => ran++, _ => ran++)));
        Assert.Equal("callback", e.ParamName);
        Assert.Contains($"callback.Name is {shown};", e.Message, StringComparison.Ordinal);
        Assert.Contains("not empty or white space", e.Message, StringComparison.Ordinal);
        await rt.OfflineAsync(1).WithTimeout();
        await rt.OnlineAsync(1).WithTimeout();
        Assert.Equal(0, ran); // nothing was registered
    }
}
