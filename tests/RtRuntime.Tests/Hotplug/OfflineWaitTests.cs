using RtRuntime.Tasks;

namespace RtRuntime.Tests.Hotplug;

/// <summary>
/// Scenarios 17 and 18 and cancellation: an offline waits while the dying CPU's nr_pinned &gt; 0; the
/// CPU is inactive at once; pinned tasks may still run there until they unpin; a cancelled wait
/// brings the CPU back active and loses nothing.
/// </summary>
public class OfflineWaitTests
{
    [Fact]
    public async Task OfflineAsync_PinnedTaskPreemptedOnCpu_WaitsUntilOutermostEnableAndPreemptionPoint()
    {
        // B(90) keeps CPU0 busy, so T(10) starts on CPU1 and H(50) preempts T there (CPU0 runs higher).
        await using var rt = Rt.Start(cpus: 2);
        var log = new EventLog();
        bool releaseB = false, releaseT = false;
        Task? offline = null;
        RtTask? h = null;
        var b = rt.Spawn("B", 90, ctx => ctx.SpinUntil(() => Volatile.Read(ref releaseB), "B released"));
        var t = rt.Spawn<(int Pinned, int AtEnable, bool OfflineDoneAtEnable, int After)>("T", 10, async ctx =>
        {
            int pinned;
            using (ctx.MigrateDisable())
            {
                pinned = ctx.CpuId;
                h = rt.Spawn("H", 50, async hctx =>
                {
                    log.Add($"H:run cpu{hctx.RawCpuId}");
                    await hctx.SpinUntil(() => !rt.IsActive(1), "cpu1 inactive"); // leaves at a preemption point after this
                    await hctx.PreemptionPoint();
                    log.Add($"H:continues cpu{hctx.RawCpuId}");
                });
                await ctx.PreemptionPoint(); // H preempts T here
                log.Add($"T:resumed cpu{ctx.CpuId} active {rt.IsActive(pinned)}");
                await ctx.SpinUntil(() => Volatile.Read(ref releaseT), "T released");
            }

            bool doneAtEnable = offline!.IsCompleted; // still running on the dying CPU: the offline cannot finish yet
            int atEnable = ctx.RawCpuId;
            await ctx.PreemptionPoint(); // the stopper moves T to an active CPU
            return (pinned, atEnable, doneAtEnable, ctx.RawCpuId);
        });

        await Rt.Until(() => h is { State: RtTaskState.Running } && t.State == RtTaskState.Runnable, "H runs, T preempted");
        Assert.Equal((1, 1), (h!.CurrentCpu, t.CurrentCpu));
        offline = rt.OfflineAsync(1);
        Assert.False(rt.IsActive(1)); // at once
        await Rt.Until(() => log.Snapshot().Length == 2, "H left cpu1 and T resumed there");
        Assert.Equal(0, h.CurrentCpu);
        Assert.Equal(["H:run cpu1", "T:resumed cpu1 active False"], log.Snapshot());

        var n = rt.Spawn("N", 20, _ => ValueTask.CompletedTask); // no new unpinned work on the dying CPU
        Assert.Equal(0, n.CurrentCpu);
        Assert.False(offline.IsCompleted);
        Assert.Equal((1, true), (rt.NrPinned(1), rt.IsOnline(1)));

        Volatile.Write(ref releaseT, true);
        await offline.WithTimeout();
        Assert.Equal((false, false, 0), (rt.IsOnline(1), rt.IsActive(1), rt.NrPinned(1)));
        Volatile.Write(ref releaseB, true);
        var r = await t.WithTimeout();
        await h.WithTimeout();
        await b.WithTimeout();
        await n.WithTimeout();
        Assert.Equal((1, 1, false, 0), r);
        Assert.Equal(["H:run cpu1", "T:resumed cpu1 active False", "H:continues cpu0"], log.Snapshot());
        Assert.Equal((1L, 1L), (t.Migrations, h.Migrations));
        Assert.Equal(1, rt.HotplugOperations);
    }

    [Fact]
    public async Task OfflineAsync_PinnedSleeperWokenWhileCpuInactive_RunsThereAndOfflineStillWaits()
    {
        // Scenario 18: T sleeps inside migrate_disable on CPU0 (both CPUs idle at spawn: lowest id).
        await using var rt = Rt.Start(cpus: 2);
        var wake = new RtEvent();
        bool releaseT = false;
        Task? offline = null;
        var t = rt.Spawn<(int Pinned, int Woke, bool Active, bool Online, bool OfflineDone, int After)>("T", 10, async ctx =>
        {
            int pinned, woke;
            bool active, online, offlineDone;
            using (ctx.MigrateDisable())
            {
                pinned = ctx.CpuId;
                await wake.WaitAsync(ctx);
                woke = ctx.CpuId;
                (active, online, offlineDone) = (rt.IsActive(pinned), rt.IsOnline(pinned), offline!.IsCompleted);
                await ctx.SpinUntil(() => Volatile.Read(ref releaseT), "T released");
            }

            await ctx.PreemptionPoint();
            return (pinned, woke, active, online, offlineDone, ctx.RawCpuId);
        });

        await Rt.Until(() => t.State == RtTaskState.Blocked && rt.NrPinned(0) == 1, "T asleep, pinned to cpu0");
        offline = rt.OfflineAsync(0);
        Assert.False(rt.IsActive(0));
        wake.Set();
        await Rt.Until(() => t.State == RtTaskState.Running, "T running again");
        Assert.Equal(0, t.CurrentCpu);
        Assert.False(offline.IsCompleted);
        Assert.Equal(1, rt.NrPinned(0));

        Volatile.Write(ref releaseT, true);
        await offline.WithTimeout();
        Assert.Equal((0, 0, false, true, false, 1), await t.WithTimeout());
        Assert.False(rt.IsOnline(0));
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task OfflineAsync_CancelledWhileWaitingForPinnedTask_CpuActiveAgainNothingLost()
    {
        await using var rt = Rt.Start(cpus: 2);
        var wakeP = new RtEvent();
        bool releaseQ = false;
        var p = rt.Spawn<(int, int)>("P", 10, async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                int pinned = ctx.CpuId;
                await wakeP.WaitAsync(ctx);
                return (pinned, ctx.CpuId);
            }
        });
        await Rt.Until(() => p.State == RtTaskState.Blocked && rt.NrPinned(0) == 1, "P asleep, pinned to cpu0");
        var q = rt.Spawn<int>("Q", 10, async ctx =>
        {
            await ctx.SpinUntil(() => Volatile.Read(ref releaseQ), "Q released");
            return ctx.RawCpuId;
        });
        await Rt.Until(() => q.State == RtTaskState.Running, "Q running");
        Assert.Equal(0, q.CurrentCpu); // cpu0 was idle (P asleep): the lowest idle CPU

        using var cts = new CancellationTokenSource();
        Task offline = rt.OfflineAsync(0, cts.Token);
        Assert.False(rt.IsActive(0));
        await Rt.Until(() => q.CurrentCpu == 1, "Q pushed off the dying cpu0");
        Assert.False(offline.IsCompleted);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => offline.WithTimeout());
        Assert.Equal((true, true, 1), (rt.IsActive(0), rt.IsOnline(0), rt.NrPinned(0)));
        Assert.Equal(0, rt.HotplugOperations);

        var placed = rt.Spawn<int>("placed", 10, ctx => ValueTask.FromResult(ctx.RawCpuId), affinity: Cpus.CpuSet.Of(0));
        Assert.Equal(0, await placed.WithTimeout()); // accepted at once again
        wakeP.Set();
        Assert.Equal((0, 0), await p.WithTimeout());
        Assert.Equal(0, p.Migrations);
        Volatile.Write(ref releaseQ, true);
        Assert.Equal(1, await q.WithTimeout());

        await rt.OfflineAsync(0).WithTimeout(); // a later offline succeeds
        Assert.False(rt.IsOnline(0));
        Assert.Equal(1, rt.HotplugOperations);
    }

    [Fact]
    public async Task OfflineAsync_TokenAlreadyCancelled_ThrowsAndCpuStaysActive()
    {
        await using var rt = Rt.Start(cpus: 2);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => rt.OfflineAsync(1, new CancellationToken(canceled: true)));
        Assert.Equal((true, true), (rt.IsActive(1), rt.IsOnline(1)));
        var t = rt.Spawn<int>("t", 10, ctx => ValueTask.FromResult(ctx.RawCpuId), affinity: Cpus.CpuSet.Of(1));
        Assert.Equal(1, await t.WithTimeout());
    }

    [Fact]
    public async Task OfflineAsync_TaskHoldingRtLocalLockWithBlockedWaiter_WaitsForBothToUnpin()
    {
        // A local-lock holder and its blocked waiter are both pinned to the lock's CPU (nr_pinned 2).
        await using var rt = Rt.Start(cpus: 2);
        var ll = new RtRuntime.PerCpu.LocalLock(rt, "ll");
        var log = new EventLog();
        bool release = false;
        RtTask? w = null;
        var t = rt.Spawn("T", 10, async ctx =>
        {
            using (await ll.LockAsync(ctx))
            {
                w = rt.Spawn("W", 50, async wctx =>
                {
                    using (await ll.LockAsync(wctx))
                    {
                        log.Add($"W:got lock on cpu{wctx.CpuId}, active {rt.IsActive(wctx.CpuId)}");
                    }

                    await wctx.PreemptionPoint();
                    log.Add($"W:after unlock on cpu{wctx.RawCpuId}");
                }, affinity: Cpus.CpuSet.Of(0));
                await ctx.PreemptionPoint();
                await ctx.SpinUntil(() => Volatile.Read(ref release), "T released");
                log.Add($"T:unlocking on cpu{ctx.CpuId}");
            }

            await ctx.PreemptionPoint();
        }, affinity: Cpus.CpuSet.Of(0, 1)); // both CPUs idle at spawn: cpu0

        await Rt.Until(() => w is { State: RtTaskState.Blocked } && rt.NrPinned(0) == 2, "T holds, W waits");
        Task offline = rt.OfflineAsync(0);
        Assert.False(rt.IsActive(0));
        Assert.False(offline.IsCompleted);
        Volatile.Write(ref release, true);
        await offline.WithTimeout();
        await t.WithTimeout();
        await w!.WithTimeout();
        Assert.Equal(["T:unlocking on cpu0", "W:got lock on cpu0, active False", "W:after unlock on cpu1"], log.Snapshot());
        Assert.Null(ll.OwnerOn(0));
        Assert.Equal(Cpus.CpuSet.Of(0, 1), w.Affinity); // W's mask {0} was broken when it left cpu0
    }
}
