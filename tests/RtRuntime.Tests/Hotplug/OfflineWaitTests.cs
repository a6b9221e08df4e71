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
        // B(90) keeps one CPU busy, so T(10) starts on the other (d) and H(50) preempts T there.
        await using var rt = Rt.Start(cpus: 2);
        var log = new EventLog();
        bool releaseB = false, releaseT = false;
        Task? offline = null;
        RtTask? h = null;
        var b = rt.Spawn("B", 90, ctx => ctx.SpinUntil(() => Volatile.Read(ref releaseB), "B released"));
        await Rt.Until(() => b.State == RtTaskState.Running, "B running");
        int cb = b.CurrentCpu, d = 1 - cb;
        var t = rt.Spawn<(int Pinned, int AtEnable, bool OfflineDoneAtEnable, int After)>("T", 10, async ctx =>
        {
            int pinned;
            using (ctx.MigrateDisable())
            {
                pinned = ctx.CpuId;
                h = rt.Spawn("H", 50, async hctx =>
                {
                    log.Add($"H:run cpu{hctx.RawCpuId}");
                    await hctx.SpinUntil(() => !rt.IsActive(pinned), "T's CPU inactive"); // leaves at a preemption point
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
        Assert.Equal((d, d), (h!.CurrentCpu, t.CurrentCpu));
        offline = rt.OfflineAsync(d);
        Assert.False(rt.IsActive(d)); // at once
        await Rt.Until(() => log.Snapshot().Length == 2, "H left the dying CPU and T resumed there");
        Assert.Equal(cb, h.CurrentCpu);
        Assert.Equal([$"H:run cpu{d}", $"T:resumed cpu{d} active False"], log.Snapshot());

        var n = rt.Spawn("N", 20, _ => ValueTask.CompletedTask); // no new unpinned work on the dying CPU
        Assert.Equal(cb, n.CurrentCpu);
        Assert.False(offline.IsCompleted);
        Assert.Equal((1, true), (rt.NrPinned(d), rt.IsOnline(d)));

        Volatile.Write(ref releaseT, true);
        await offline.WithTimeout();
        Assert.Equal((false, false, 0), (rt.IsOnline(d), rt.IsActive(d), rt.NrPinned(d)));
        Volatile.Write(ref releaseB, true);
        var r = await t.WithTimeout();
        await h.WithTimeout();
        await b.WithTimeout();
        await n.WithTimeout();
        Assert.Equal((d, d, false, cb), r);
        Assert.Equal([$"H:run cpu{d}", $"T:resumed cpu{d} active False", $"H:continues cpu{cb}"], log.Snapshot());
        Assert.Equal((1L, 1L), (t.Migrations, h.Migrations));
        Assert.Equal(1, rt.HotplugOperations);
    }

    [Fact]
    public async Task OfflineAsync_PinnedSleeperWokenWhileCpuInactive_RunsThereAndOfflineStillWaits()
    {
        // Scenario 18: T sleeps inside migrate_disable on whichever CPU it started on (c).
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

        await Rt.Until(() => t.State == RtTaskState.Blocked && rt.NrPinned(0) + rt.NrPinned(1) == 1, "T asleep, pinned");
        int c = rt.NrPinned(0) == 1 ? 0 : 1;
        offline = rt.OfflineAsync(c);
        Assert.False(rt.IsActive(c));
        wake.Set();
        await Rt.Until(() => t.State == RtTaskState.Running, "T running again");
        Assert.Equal(c, t.CurrentCpu);
        Assert.False(offline.IsCompleted);
        Assert.Equal(1, rt.NrPinned(c));

        Volatile.Write(ref releaseT, true);
        await offline.WithTimeout();
        Assert.Equal((c, c, false, true, false, 1 - c), await t.WithTimeout());
        Assert.False(rt.IsOnline(c));
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
        await Rt.Until(() => p.State == RtTaskState.Blocked && rt.NrPinned(0) + rt.NrPinned(1) == 1, "P asleep, pinned");
        int c = rt.NrPinned(0) == 1 ? 0 : 1;
        long pMigrations = p.Migrations;

        // Q, migratable, runs on c: started there by mask, then widened (completes at once: c is in the mask).
        var q = rt.Spawn<int>("Q", 10, async ctx =>
        {
            await ctx.SpinUntil(() => Volatile.Read(ref releaseQ), "Q released");
            return ctx.RawCpuId;
        }, affinity: Cpus.CpuSet.Of(c));
        await Rt.Until(() => q.State == RtTaskState.Running, "Q running");
        await rt.SetAffinityAsync(q, Cpus.CpuSet.Of(0, 1)).WithTimeout();
        Assert.Equal(c, q.CurrentCpu);

        using var cts = new CancellationTokenSource();
        Task offline = rt.OfflineAsync(c, cts.Token);
        Assert.False(rt.IsActive(c));
        await Rt.Until(() => q.CurrentCpu == 1 - c, "Q pushed off the dying CPU");
        Assert.False(offline.IsCompleted);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => offline.WithTimeout());
        Assert.Equal((true, true, 1), (rt.IsActive(c), rt.IsOnline(c), rt.NrPinned(c)));
        Assert.Equal(0, rt.HotplugOperations);

        var placed = rt.Spawn<int>("placed", 10, ctx => ValueTask.FromResult(ctx.RawCpuId), affinity: Cpus.CpuSet.Of(c));
        Assert.Equal(c, await placed.WithTimeout()); // accepted at once again
        wakeP.Set();
        Assert.Equal((c, c), await p.WithTimeout());
        Assert.Equal(pMigrations, p.Migrations);
        Volatile.Write(ref releaseQ, true);
        Assert.Equal(1 - c, await q.WithTimeout());

        await rt.OfflineAsync(c).WithTimeout(); // a later offline succeeds
        Assert.False(rt.IsOnline(c));
        Assert.Equal(1, rt.HotplugOperations);
    }

    [Fact]
    public async Task StopAsync_WhileAnOfflineWaitsForAPinnedTask_TheOfflineEndsCpuActiveAndLaterHotplugThrows()
    {
        var rt = Rt.Start(cpus: 2);
        int release = 0;
        var spinner = rt.Spawn("pinned-spinner", 20, ctx =>
        {
            using (ctx.MigrateDisable())
            {
                while (Volatile.Read(ref release) == 0)
                {
                    Thread.SpinWait(10); // no preemption point: the stop cannot end it, only abandon it
                }
            }

            return ValueTask.CompletedTask;
        }, affinity: RtRuntime.Cpus.CpuSet.Of(1));
        try
        {
            await Rt.Until(() => rt.NrPinned(1) == 1, "pinned on cpu1");
            Task offline = rt.OfflineAsync(1);
            await Rt.Until(() => !rt.IsActive(1), "cpu1 dying");

            ShutdownSummary summary = await rt.StopAsync(TimeSpan.Zero, TimeSpan.FromMilliseconds(50)).WithTimeout();

            Assert.Equal(1, summary.Abandoned);
            await Assert.ThrowsAsync<InvalidOperationException>(() => offline.WithTimeout()); // ended by the stop, not left pending
            Assert.True(rt.IsOnline(1) && rt.IsActive(1), "the abandoned offline left cpu1 active again");
            await Assert.ThrowsAsync<InvalidOperationException>(() => rt.OfflineAsync(0).WithTimeout()); // refused, not queued behind it
        }
        finally
        {
            Volatile.Write(ref release, 1); // let the abandoned task's CPU thread go
        }

        await spinner.WithTimeout();
    }

    [Fact]
    public async Task OfflineAsync_WaitingForAPinnedSleeper_TheDyingCpuParksInsteadOfSpinning()
    {
        await using var rt = Rt.Start(cpus: 2);
        var wake = new RtEvent();
        RtTask sleeper = await Rt.SpawnPinnedSleeperAsync(rt, "pinned-sleeper", 20, cpu: 1, wake);

        Task offline = rt.OfflineAsync(1);
        await Rt.Until(() => !rt.IsActive(1), "cpu1 dying");
        TimeSpan idleAtStart = rt.Snapshot().Cpus[1].Idle;

        // Idle time accrues only while a CPU thread parks: a dying CPU that spun through its turns for
        // the whole wait (a core and ~500 MB/s of garbage here) never added any.
        await Rt.Until(() => rt.Snapshot().Cpus[1].Idle > idleAtStart, "the dying cpu1 parked");
        Assert.False(offline.IsCompleted);

        wake.Set();
        await offline.WithTimeout();
        await sleeper.WithTimeout();
        Assert.False(rt.IsOnline(1));
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
        }, affinity: Cpus.CpuSet.Of(0));

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
        Assert.Equal(Cpus.CpuSet.Of(0, 1), w!.Affinity); // W's mask {0} was broken when it left cpu0
    }

    [Fact]
    public async Task OfflineAsync_Cancelled_TheCpuBackActiveTakesATaskWaitingElsewhere_WithoutWaitingForTheTick()
    {
        // cpu1 is dying (a pinned sleeper holds the offline), so W(40) waits on cpu0 behind H(50). The
        // cancel makes cpu1 active again, and cpu1, idle, pulls W while H still runs: nothing is lost,
        // and nothing waits for rt/balance's 10 s tick, whose push would have moved W instead.
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.BalanceTick = TimeSpan.FromSeconds(10);
        });
        var wake = new RtEvent();
        RtTask sleeper = await Rt.SpawnPinnedSleeperAsync(rt, "S", 10, cpu: 1, wake);
        using var cts = new CancellationTokenSource();
        Task offline = rt.OfflineAsync(1, cts.Token);
        Assert.False(rt.IsActive(1));

        int wCpu = -1;
        bool wRan = false;
        var h = rt.Spawn("H", 50, ctx => ctx.SpinUntil(() => Volatile.Read(ref wRan), "W ran"));
        await Rt.Until(() => h.State == RtTaskState.Running && h.CurrentCpu == 0, "H running on cpu0");
        var w = rt.Spawn("W", 40, ctx =>
        {
            wCpu = ctx.RawCpuId;
            Volatile.Write(ref wRan, true);
            return ValueTask.CompletedTask;
        });
        await Rt.Until(() => Rt.QueuedOn(rt.Cpus[0], w), "W queued on cpu0 behind H");

        long pushesBefore = Interlocked.Read(ref rt.Balancer.Pushes);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => offline.WithTimeout());
        await h.WithTimeout(); // W ran while H ran
        await w.WithTimeout();
        Assert.Equal(1, wCpu);
        Assert.Equal(pushesBefore, Interlocked.Read(ref rt.Balancer.Pushes)); // taken by cpu1's pull, not pushed by rt/balance's tick
        wake.Set();
        await sleeper.WithTimeout();
    }
}
