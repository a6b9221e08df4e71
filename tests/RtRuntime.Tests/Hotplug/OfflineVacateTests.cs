using Microsoft.Extensions.Logging;
using RtRuntime.Cpus;
using RtRuntime.Hotplug;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Hotplug;

/// <summary>
/// Scenario 21 and balance_push: an offline of an empty CPU completes; a pin left at the final step is reported; migratable tasks running or
/// queued on the dying CPU leave it (at their next preemption point, or from its queue); sleepers'
/// timers move to an online CPU.
/// </summary>
public class OfflineVacateTests
{
    /// <summary>
    /// Waits for an offline that must complete without any task's help; a hang becomes a failure after
    /// <see cref="Rt.Hang"/>, as every wait of these tests does (a 5 s limit could trip on a loaded
    /// machine: under stress-ng a pinned CPU thread was seen to get no CPU time for over a second).
    /// </summary>
    private static async Task MustComplete(Task offline, string what)
    {
        Task first = await Task.WhenAny(offline, Task.Delay(Rt.Hang));
        Assert.True(first == offline, "offline did not complete: " + what);
        await offline;
    }

    [Fact]
    public async Task OfflineAsync_CpuWithNothingOnIt_CompletesOfflineAndInactive()
    {
        using var logs = new CapturingLoggerFactory();
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 3;
            o.LoggerFactory = logs;
        });
        await rt.OfflineAsync(1).WithTimeout();
        Assert.Equal((false, false, 0), (rt.IsOnline(1), rt.IsActive(1), rt.NrPinned(1)));
        Assert.Equal(CpuSet.Of(0, 2), rt.OnlineCpus);
        Assert.Equal(1, rt.HotplugOperations);
        Assert.DoesNotContain(logs.Messages, m => m.Message.Contains("not properly vacated", StringComparison.Ordinal));
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task OfflineAsync_PinLeftAfterTheVacatedCheck_ReportsDyingCpuNotProperlyVacated()
    {
        // Nothing the API allows lands on a vacated CPU, so an offline step (run on the dying CPU's thread
        // after the vacated check, before the final step) leaves a pin there, as a bug would: the final
        // step must report it (sched_cpu_dying's WARN) and still take the CPU offline.
        using var logs = new CapturingLoggerFactory();
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.LoggerFactory = logs;
        });
        var t = rt.Spawn("T", 10, _ => ValueTask.CompletedTask);
        await t.WithTimeout();
        using var reg = rt.RegisterHotplugNoCalls(new HotplugCallback("leaves-a-pin", Online: null, Offline: cpu => rt.Cpus[cpu].PinTask(t)));
        await rt.OfflineAsync(1).WithTimeout();
        Assert.Equal((false, 1), (rt.IsOnline(1), rt.NrPinned(1)));
        Assert.Single(logs.Messages, m => m.Level == LogLevel.Error
            && m.Message.StartsWith("Dying CPU not properly vacated! cpu1: nr_pinned 1, tasks: ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OfflineAsync_MigratableTasksRunningAndQueued_AllLeaveAtPreemptionPointsAndComplete()
    {
        // Four migratable spinners share cpu1 (affinity {1,2}, cpu2 busy with a higher pinned-by-mask task).
        await using var rt = Rt.Start(cpus: 3);
        bool releaseBusy = false, releaseSpinners = false;
        var busy = rt.Spawn("busy", 90, ctx => ctx.SpinUntil(() => Volatile.Read(ref releaseBusy), "busy released"), affinity: CpuSet.Of(2));
        await Rt.Until(() => busy.State == RtTaskState.Running, "busy running");
        var spinners = Enumerable.Range(0, 4).Select(i => rt.Spawn<int>("s" + i, 10 + i, async ctx =>
        {
            await ctx.SpinUntil(() => Volatile.Read(ref releaseSpinners), "spinners released");
            return ctx.RawCpuId;
        }, affinity: CpuSet.Of(1, 2))).ToList();
        Assert.All(spinners, s => Assert.Equal(1, s.CurrentCpu));

        Task offline = rt.OfflineAsync(1);
        await MustComplete(offline, "migratable spinners should leave cpu1");
        Assert.All(spinners, s => Assert.Equal(2, s.CurrentCpu)); // queued behind busy
        Volatile.Write(ref releaseBusy, true);
        Volatile.Write(ref releaseSpinners, true);
        foreach (var s in spinners)
        {
            Assert.Equal(2, await s.WithTimeout());
        }

        await busy.WithTimeout();
    }

    [Fact]
    public async Task OfflineAsync_MigratableTaskPickedByDirectSwitchOnDyingCpu_LeavesAtItsNextPreemptionPoint()
    {
        // R(50) runs on d with Q(10) queued behind it; the other CPU is busy with B(90). At R's next
        // preemption point the stopper moves R away, and the dispatcher switches directly to Q on the
        // dying d: Q, migratable, must leave at its own next preemption point too.
        await using var rt = Rt.Start(cpus: 2);
        bool releaseB = false, releaseR = false, releaseQ = false;
        var b = rt.Spawn("B", 90, ctx => ctx.SpinUntil(() => Volatile.Read(ref releaseB), "B released"));
        await Rt.Until(() => b.State == RtTaskState.Running, "B running");
        int cb = b.CurrentCpu, d = 1 - cb;
        var r = rt.Spawn("R", 50, ctx => ctx.SpinUntil(() => Volatile.Read(ref releaseR), "R released"));
        await Rt.Until(() => r.State == RtTaskState.Running, "R running");
        var q = rt.Spawn<int>("Q", 10, async ctx =>
        {
            await ctx.SpinUntil(() => Volatile.Read(ref releaseQ), "Q released");
            return ctx.RawCpuId;
        });
        Assert.Equal((d, d, RtTaskState.Runnable), (r.CurrentCpu, q.CurrentCpu, q.State));

        Task offline = rt.OfflineAsync(d);
        try
        {
            await MustComplete(offline, $"Q is {q.State} on cpu{q.CurrentCpu}, nr_pinned {rt.NrPinned(d)}");
            Assert.Equal((cb, cb), (r.CurrentCpu, q.CurrentCpu));
        }
        finally
        {
            Volatile.Write(ref releaseB, true);
            Volatile.Write(ref releaseR, true);
            Volatile.Write(ref releaseQ, true);
        }

        await offline.WithTimeout();
        Assert.Equal(cb, await q.WithTimeout());
        await r.WithTimeout();
        await b.WithTimeout();
    }

    [Fact]
    public async Task OfflineAsync_TaskYieldingInALoopOnDyingCpu_LeavesIt()
    {
        // sched_yield passes through the scheduler, where balance_push moves a migratable task away.
        await using var rt = Rt.Start(cpus: 2);
        bool release = false;
        var y = rt.Spawn<int>("Y", 10, async ctx =>
        {
            while (!Volatile.Read(ref release))
            {
                await ctx.Yield();
            }

            return ctx.RawCpuId;
        });
        await Rt.Until(() => y.State is RtTaskState.Running or RtTaskState.Runnable, "Y started");
        int first = y.CurrentCpu;

        Task offline = rt.OfflineAsync(first);
        try
        {
            await MustComplete(offline, $"Y is {y.State} on cpu{y.CurrentCpu}");
        }
        finally
        {
            Volatile.Write(ref release, true);
        }

        Assert.Equal(1 - first, await y.WithTimeout());
    }

    [Fact]
    public async Task OfflineAsync_SleeperOnDyingCpu_TimerMovesAndCancellationStillFindsIt()
    {
        // A sleeper far in the future: its timer must move to the online CPU (hrtimers_dead_cpu), where
        // cancellation takes it back from that CPU's timer queue.
        await using var rt = Rt.Start(cpus: 2);
        var s = rt.Spawn<int>("sleeper", 10, async ctx =>
        {
            try
            {
                await ctx.Sleep(TimeSpan.FromHours(1));
                return -1;
            }
            catch (OperationCanceledException)
            {
                return ctx.RawCpuId;
            }
        }, affinity: CpuSet.Of(1, 0));
        await Rt.Until(() => s.State == RtTaskState.Blocked, "sleeper asleep");
        int first = s.CurrentCpu;

        await rt.OfflineAsync(first).WithTimeout();
        s.Cancel();
        Assert.Equal(1 - first, await s.WithTimeout());
    }

    /// <summary>
    /// balance_push from <c>rt/balance</c>: a migratable task queued on the dying CPU above a running
    /// task that passes no preemption point (the dying CPU's own turn never comes) still leaves, at
    /// once, to an active CPU, even one running higher, and runs there. No pull takes it (it outranks
    /// what runs where it is queued: the kernel's "about to run there"). A soak beside stress-ng showed
    /// the same with the dying CPU's thread starved by the OS: higher tasks queued there for over a
    /// second while other CPUs ran lower ones.
    /// </summary>
    [Fact]
    public async Task QueuedMigratableTask_OnADyingCpuWhoseTaskPassesNoPoints_RunsElsewhere()
    {
        await using var rt = Rt.Start(o => { o.CpuCount = 2; o.StallThreshold = Rt.NoStallProbe; });
        StalledRunnerSetup s = await StalledRunnerSetup.StartAsync(rt);

        // It leaves while cpu0 still runs a higher task: balance_push places it on an active CPU whatever
        // runs there (the push of a task waiting past a stalled runner, StalledRunnerPushTests, would
        // only take it to a CPU running below it).
        Task offline = rt.OfflineAsync(1);
        await Rt.Until(() => s.Mover.CurrentCpu == 0, "mover moved to cpu0 while cpu0 still runs high");
        s.ReleaseHigh();
        await s.AllEndWithTheMoverOnCpu0Async();
        await offline.WithTimeout();
        Assert.False(rt.IsOnline(1));
    }
}
