using System.Runtime.CompilerServices;
using RtRuntime.Hotplug;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Hotplug;

/// <summary>
/// Registering and removing steps with their calls, as cpuhp_setup_state() and cpuhp_remove_state() do:
/// the online step runs on each CPU online at registration (on its thread, in CPU order), rolled back
/// (cpuhp_rollback_install) if it fails on one; removal runs the offline step on each online CPU. Both
/// hold the hotplug lock, so an operation in progress is waited for and never half-seen.
/// </summary>
public class HotplugSetupStateTests
{
    private static HotplugCallback Recording(string name, EventLog log, RtScheduler rt, int failOn = -1) => new(
        name,
        cpu =>
        {
            log.Add($"{name}:online cpu{cpu} on {Thread.CurrentThread.Name} active {rt.IsActive(cpu)}");
            if (cpu == failOn)
            {
                throw new InvalidOperationException("boom");
            }
        },
        cpu => log.Add($"{name}:offline cpu{cpu} on {Thread.CurrentThread.Name} active {rt.IsActive(cpu)}"));

    /// <summary>A task pinned (migrate-disabled) on cpu0 or cpu1 until <paramref name="release"/>: an offline of its CPU waits for it, holding the hotplug lock.</summary>
    private static async Task<(RtTask Task, int Cpu)> PinnedUntilAsync(RtScheduler rt, StrongBox<bool> release)
    {
        var p = rt.Spawn("P", 10, async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                await ctx.SpinUntil(() => Volatile.Read(ref release.Value), "P released");
            }

            await ctx.PreemptionPoint();
        });
        await Rt.Until(() => rt.NrPinned(0) + rt.NrPinned(1) == 1, "P pinned");
        return (p, rt.NrPinned(0) == 1 ? 0 : 1);
    }

    [Fact]
    public async Task RegisterHotplugAsync_RunsTheOnlineStepOnEachOnlineCpuOnItsThreadInCpuOrder_AndOnACpuThatComesOnlineLater()
    {
        // Before: registration ran no step, so a component registering after Start (always: the runtime
        // starts at once) never saw its online step for cpu0 and cpu2 (the log held only cpu1's).
        await using var rt = Rt.Start(cpus: 3);
        await rt.OfflineAsync(1).WithTimeout();
        var log = new EventLog();
        await using HotplugRegistration a = await rt.RegisterHotplugAsync(Recording("A", log, rt)).WithTimeout();
        Assert.Equal(["A:online cpu0 on rt/cpu0 active True", "A:online cpu2 on rt/cpu2 active True"], log.Snapshot());

        await rt.OnlineAsync(1).WithTimeout();
        Assert.Equal("A:online cpu1 on rt/cpu1 active False", log.Snapshot()[^1]);
        Assert.Equal(3, log.Snapshot().Length);
    }

    [Fact]
    public async Task RegisterHotplugAsync_OnlineStepThrowsOnCpu2_Cpu0And1RolledBackInCpuOrder_NothingRegistered()
    {
        await using var rt = Rt.Start(cpus: 3);
        var log = new EventLog();
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => rt.RegisterHotplugAsync(Recording("X", log, rt, failOn: 2)).WithTimeout());
        Assert.Equal("Hotplug step 'X' failed on cpu2 at its registration: boom; it is not registered, and its offline step ran on cpu0, cpu1, where its online step had run.", e.Message);
        Assert.Equal("boom", e.InnerException?.Message);
        Assert.Equal(
            [
                "X:online cpu0 on rt/cpu0 active True",
                "X:online cpu1 on rt/cpu1 active True",
                "X:online cpu2 on rt/cpu2 active True",
                "X:offline cpu0 on rt/cpu0 active True",
                "X:offline cpu1 on rt/cpu1 active True",
            ],
            log.Snapshot());

        await rt.OfflineAsync(1).WithTimeout();
        await rt.OnlineAsync(1).WithTimeout();
        Assert.Equal(5, log.Snapshot().Length); // not registered: no step in either operation
    }

    [Fact]
    public async Task RegisterHotplugAsync_WhileAnOfflineWaitsForAPinnedTask_WaitsForIt_TheDyingCpuGetsNoOnlineStep()
    {
        // The registration holds the hotplug lock: it cannot see the dying CPU (online, inactive) and set it
        // up just before it goes offline without its offline step (registered too late for that operation).
        await using var rt = Rt.Start(cpus: 2);
        var log = new EventLog();
        var release = new StrongBox<bool>();
        (RtTask p, int c) = await PinnedUntilAsync(rt, release);

        Task offline = rt.OfflineAsync(c);
        Task<HotplugRegistration> register = rt.RegisterHotplugAsync(Recording("A", log, rt));
        Assert.False(register.IsCompleted);
        Volatile.Write(ref release.Value, true);
        await offline.WithTimeout();
        await using HotplugRegistration a = await register.WithTimeout();
        await p.WithTimeout();
        Assert.Equal([$"A:online cpu{1 - c} on rt/cpu{1 - c} active True"], log.Snapshot());

        await rt.OnlineAsync(c).WithTimeout();
        Assert.Equal($"A:online cpu{c} on rt/cpu{c} active False", log.Snapshot()[^1]);
    }

    [Fact]
    public async Task RegisterHotplugAsync_OnceAStopHasBegun_OrWaitingWhenItBegins_IsRefusedAndRunsNoStep()
    {
        var rt = Rt.Start(cpus: 2);
        int ran = 0;
        var release = new StrongBox<bool>();
        (RtTask p, int c) = await PinnedUntilAsync(rt, release);
        Task offline = rt.OfflineAsync(c); // holds the hotplug lock while P stays pinned
        Task<HotplugRegistration> queued = rt.RegisterHotplugAsync(new HotplugCallback("queued", _ => ran++, _ => ran++));

        Task<ShutdownSummary> stop = rt.StopAsync(TimeSpan.FromSeconds(30)); // the drain waits for P
        var waiting = await Assert.ThrowsAsync<InvalidOperationException>(() => queued.WithTimeout());
        Assert.Equal("hotplug step 'queued' cannot run its online step on the online CPUs: the runtime is stopping.", waiting.Message);
        await Assert.ThrowsAsync<InvalidOperationException>(() => offline.WithTimeout());
        var late = await Assert.ThrowsAsync<InvalidOperationException>(() => rt.RegisterHotplugAsync(new HotplugCallback("late", _ => ran++, _ => ran++)).WithTimeout());
        Assert.Equal("hotplug step 'late' cannot run its online step on the online CPUs: the runtime is stopping.", late.Message);

        Volatile.Write(ref release.Value, true);
        await p.WithTimeout();
        await stop.WithTimeout();
        Assert.Equal(0, ran);
    }

    [Fact]
    public async Task UnregisterAsync_RunsTheOfflineStepOnEachOnlineCpuInCpuOrder_DisposeRunsNone_ThenNeitherStepRuns()
    {
        await using var rt = Rt.Start(cpus: 3);
        await rt.OfflineAsync(2).WithTimeout();
        var log = new EventLog();
        HotplugRegistration a = await rt.RegisterHotplugAsync(Recording("A", log, rt)).WithTimeout();
        HotplugRegistration b = await rt.RegisterHotplugAsync(Recording("B", log, rt)).WithTimeout();
        int registered = log.Snapshot().Length; // A and B online on cpu0 and cpu1

        await a.UnregisterAsync().WithTimeout();
        b.Dispose();
        await b.UnregisterAsync().WithTimeout(); // removed already: nothing runs
        Assert.Equal(["A:offline cpu0 on rt/cpu0 active True", "A:offline cpu1 on rt/cpu1 active True"], log.Snapshot()[registered..]);
        Assert.True(a.IsDisposed);

        await rt.OnlineAsync(2).WithTimeout();
        await rt.OfflineAsync(1).WithTimeout();
        Assert.Equal(registered + 2, log.Snapshot().Length);
    }

    [Fact]
    public async Task UnregisterAsync_OfflineStepThrowsOnCpu0_RunsOnCpu1_IsRemoved_AndThrowsIt()
    {
        await using var rt = Rt.Start(cpus: 2);
        var log = new EventLog();
        HotplugRegistration bad = rt.RegisterHotplugNoCalls(new HotplugCallback("bad", null, cpu =>
        {
            log.Add($"bad:offline cpu{cpu}");
            if (cpu == 0)
            {
                throw new InvalidOperationException("boom down");
            }
        }));

        var e = await Assert.ThrowsAsync<AggregateException>(() => bad.UnregisterAsync().WithTimeout());
        Assert.Equal("Hotplug step 'bad' failed on cpu0 at its removal: boom down", Assert.Single(e.InnerExceptions).Message);
        Assert.Equal(["bad:offline cpu0", "bad:offline cpu1"], log.Snapshot());
        Assert.True(bad.IsDisposed);
        await rt.OfflineAsync(1).WithTimeout();
        Assert.Equal(2, log.Snapshot().Length);
    }

    [Fact]
    public async Task UnregisterAsync_WhenAStopEndsTheCpuThreadsMidway_IsRemovedAsByDispose_AndThrowsNoStepFailure()
    {
        // The offline step runs on cpu0 when the stop begins, and cpu1's thread exits before the removal
        // reaches it. The step did not throw anywhere: the removal ends as one made after the stop began
        // (removed as by Dispose). Before, it threw AggregateException "its offline step threw on 1 CPU(s)"
        // with cpu1's "did not run on cpu1 at its removal: the runtime has stopped".
        var rt = Rt.Start(cpus: 2);
        var log = new EventLog();
        using var onCpu0 = new ManualResetEventSlim();
        using var stopBegun = new ManualResetEventSlim();
        HotplugRegistration s = rt.RegisterHotplugNoCalls(new HotplugCallback("s", null, cpu =>
        {
            log.Add($"s:offline cpu{cpu}");
            if (cpu == 0)
            {
                onCpu0.Set();
                Assert.True(stopBegun.Wait(TimeSpan.FromSeconds(30)), "the stop began");
                Assert.True(rt.Cpus[1].Thread!.Join(TimeSpan.FromSeconds(30)), "cpu1's thread exited");
            }
        }));

        Task removal = s.UnregisterAsync();
        Assert.True(onCpu0.Wait(TimeSpan.FromSeconds(30)), "the offline step runs on cpu0");
        Task<ShutdownSummary> stop = rt.StopAsync(TimeSpan.FromSeconds(30));
        stopBegun.Set();
        await removal.WithTimeout();
        await stop.WithTimeout();
        Assert.True(s.IsDisposed);
        Assert.Equal(["s:offline cpu0"], log.Snapshot());
    }
}
