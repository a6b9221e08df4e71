using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Balancing;

/// <summary>
/// The balancing subset on real threads (issue: global priority balancing). Exact traces are the
/// simulator's job; here only outcomes are asserted: who ran where, and what never happened.
/// </summary>
public class RealThreadBalancingTests
{
    [Fact]
    public async Task NHighest_ThreeTasksOnTwoCpus_LowestWaitsUntilAHigherOneEnds()
    {
        await using var rt = Rt.Start(cpus: 2);
        var stop = new RtEvent();
        int alive = 0;
        bool lowRanWhileBothHigherAlive = false;
        bool lowRan = false;
        async ValueTask High(TaskContext ctx)
        {
            Interlocked.Increment(ref alive);
            while (!stop.IsSet)
            {
                await ctx.PreemptionPoint();
            }

            Interlocked.Decrement(ref alive);
        }

        var a = rt.Spawn("A", 90, High);
        var b = rt.Spawn("B", 80, High);
        await Rt.Until(() => Volatile.Read(ref alive) == 2, "A and B run");
        var c = rt.Spawn("C", 70, ctx =>
        {
            lowRan = true;
            lowRanWhileBothHigherAlive = Volatile.Read(ref alive) == 2;
            return ValueTask.CompletedTask;
        });

        Assert.False(lowRan); // C cannot run: the two CPUs run the two highest tasks
        stop.Set();
        await a.WithTimeout();
        await b.WithTimeout();
        await c.WithTimeout();
        Assert.True(lowRan);
        Assert.False(lowRanWhileBothHigherAlive);
    }

    [Theory]
    [InlineData(BalancePolicy.WorkConserving)]
    [InlineData(BalancePolicy.KernelFaithful)]
    public async Task EqualPriority_WakerAffineToTheRunnersCpu_RunnerMovesToTheIdleCpuAndBothRun(BalancePolicy policy)
    {
        // Scenario 11's exception (check_preempt_equal_prio): F2 (50) may run only on CPU0, where F1 (50)
        // runs; F1 may also run on the idle CPU1. F1 is moved there and F2 runs, instead of waiting
        // for F1, which here only ends once F2 has run (or at the hang guard).
        await using var rt = Rt.Start(cpus: 2, balance: policy);
        bool f2Ran = false;
        bool f1Running = false;
        var f1 = rt.Spawn<(int Before, int After, bool SawF2)>("F1", 50, async ctx =>
        {
            await rt.SetAffinityAsync(ctx.Task, CpuSet.Of(0, 1)); // started on CPU0 (it stays); may now run on either
            int before = ctx.RawCpuId;
            Volatile.Write(ref f1Running, true);
            long guard = RtClock.NowNs() + RtClock.ToNs(Rt.Hang);
            while (!Volatile.Read(ref f2Ran) && RtClock.NowNs() < guard)
            {
                await ctx.PreemptionPoint();
                Thread.SpinWait(50);
            }

            return (before, ctx.RawCpuId, Volatile.Read(ref f2Ran));
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => Volatile.Read(ref f1Running), "F1 running");
        var f2 = rt.Spawn("F2", 50, _ =>
        {
            Volatile.Write(ref f2Ran, true);
            return ValueTask.CompletedTask;
        }, affinity: CpuSet.Of(0));

        var r = await f1.WithTimeout();
        await f2.WithTimeout();
        Assert.Equal((0, 1, true), r);
        Assert.Equal(1L, rt.BalanceCounters.RunningPushes);
    }

    [Theory]
    [InlineData(BalancePolicy.WorkConserving, true)]
    [InlineData(BalancePolicy.NoPushRunning, false)]
    public async Task PileUp_HigherWakesOnPinnedLowsCpu_RepairedOnlyWhenPolicyMovesRunner(BalancePolicy policy, bool repaired)
    {
        await using var rt = Rt.Start(cpus: 2, balance: policy);
        var wake = new RtEvent();
        var done = new RtEvent();
        long lowProgress = 0;
        long lowProgressWhileHighRan = -1;
        int lowCpu = -1;
        int highCpuWhileLowRan = -1;
        long highMigrationsBeforeWake = -1;

        // H first runs on the CPU that L will pin, then sleeps; its wakeup returns it there
        // (select_task_rq prefers the previous CPU when the task would run there now).
        var h = rt.Spawn("H", 50, async ctx =>
        {
            await ctx.SpinUntil(() => Volatile.Read(ref lowCpu) >= 0, "L pinned");
            await rt.SetAffinityAsync(ctx.Task, CpuSet.Of(lowCpu)); // now on L's CPU
            await rt.SetAffinityAsync(ctx.Task, CpuSet.Of(0, 1));   // may run anywhere again, but stays
            Volatile.Write(ref highMigrationsBeforeWake, ctx.Task.Migrations);
            await wake.WaitAsync(ctx);                               // blocks with prev CPU = L's
            long before = Volatile.Read(ref lowProgress);
            if (repaired)
            {
                // Until L progresses (its CPU thread may be off its core for milliseconds on a loaded
                // machine): only the hang guard bounds it, so a repair that never comes still fails.
                long guard = RtClock.NowNs() + RtClock.ToNs(Rt.Hang);
                while (Volatile.Read(ref lowProgress) == before && RtClock.NowNs() < guard)
                {
                    await ctx.PreemptionPoint();
                    Thread.SpinWait(50);
                }

                highCpuWhileLowRan = ctx.RawCpuId;
            }
            else
            {
                for (int i = 0; i < 2_000; i++)
                {
                    await ctx.PreemptionPoint();
                    Thread.SpinWait(50);
                }
            }

            lowProgressWhileHighRan = Volatile.Read(ref lowProgress) - before;
            done.Set();
        });

        var l = rt.Spawn("L", 10, async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                Volatile.Write(ref lowCpu, ctx.CpuId);
                bool woke = false;
                while (!done.IsSet)
                {
                    Interlocked.Increment(ref lowProgress);
                    if (!woke && wake.WaiterCount == 1)
                    {
                        woke = true;
                        wake.Set(); // H wakes on this CPU and preempts L at its next point: the pile-up
                    }

                    await ctx.PreemptionPoint();
                }
            }
        });

        await h.WithTimeout();
        await l.WithTimeout();
        if (repaired)
        {
            Assert.True(lowProgressWhileHighRan > 0, "L should run on its CPU while H runs on the other");
            Assert.NotEqual(lowCpu, highCpuWhileLowRan);
            Assert.True(h.Migrations >= 1);

            // Each balancing move counted once: no more pushes, running pushes and pulls than H moved
            // after its wakeup (a wakeup placed straight on the idle CPU moves it with none of them).
            (long pushes, long pulls, long runningPushes) = rt.BalanceCounters;
            long moves = h.Migrations - Volatile.Read(ref highMigrationsBeforeWake);
            Assert.True(pushes + pulls + runningPushes <= moves, $"pushes {pushes} + pulls {pulls} + running pushes {runningPushes} > {moves} moves of H");
        }
        else
        {
            Assert.Equal(0, lowProgressWhileHighRan); // L stays preempted under H: the bandwidth is lost
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // scenario 14: H pins itself after the push is requested, before it runs; its outermost migrate_enable pushes it
    public async Task PileUp_KernelFaithful_PullByCpuDroppingFromRt_PushesTheRunnerAwayAndPinnedTaskResumes(bool runnerPinsItself)
    {
        // Scenario 12 (a7c81556ec4d): L (10, mask 0-1) pinned on CPU0, R (30, mask 1) on CPU1; H (50) wakes
        // on CPU0 (the lowest CPU: KernelFaithful does not spare pinned runners) and preempts L; then R
        // blocks: CPU1's pull finds L not movable and has CPU0 push its running H to CPU1. A long balance
        // tick: with the default 10 ms, a loaded machine that kept CPU0's thread from L's point for a tick
        // had the rebalancer push the waiting H to CPU1 before it ever ran on CPU0 (its rescue of work
        // overdue on a CPU), which is not the scenario (3 of 10 runs failed beside two busy loops).
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.Balance = BalancePolicy.KernelFaithful;
            o.BalanceTick = TimeSpan.FromSeconds(10); // the longest allowed
        });
        var rWait = new RtEvent();
        bool rRunning = false, releaseR = false, hDone = false;
        long lProgress = 0;
        int hCpuAtWake = -1, hCpuAfter = -1, hCpuDeferred = -1;
        var r = rt.Spawn("R", 30, async ctx =>
        {
            Volatile.Write(ref rRunning, true);
            await ctx.SpinUntil(() => Volatile.Read(ref releaseR), "H running on CPU0");
            await rWait.WaitAsync(ctx); // CPU1 drops from priority 30: it pulls
        }, affinity: CpuSet.Of(1));
        await Rt.Until(() => Volatile.Read(ref rRunning), "R running on CPU1");

        RtTask? h = null;
        var l = rt.Spawn<(int Cpu, int CpuAfterResume)>("L", 10, async ctx =>
        {
            await rt.SetAffinityAsync(ctx.Task, CpuSet.Of(0, 1)); // started on CPU0 (it stays); pushable by its mask
            using (ctx.MigrateDisable())
            {
                int cpu = ctx.CpuId;
                h = rt.Spawn("H", 50, async hctx =>
                {
                    Volatile.Write(ref hCpuAtWake, hctx.RawCpuId);
                    if (runnerPinsItself)
                    {
                        // No preemption point until the push is requested (so its stopper has not run), then pin.
                        Volatile.Write(ref releaseR, true);
                        long until = RtClock.NowNs() + RtClock.ToNs(Rt.Hang);
                        while (Volatile.Read(ref rt.Cpus[0].PushTarget) != hctx.Task && RtClock.NowNs() < until)
                        {
                            Thread.SpinWait(50);
                        }

                        using (hctx.MigrateDisable())
                        {
                            // The stopper runs at the first point, finds H pinned and defers (MDF_PUSH).
                            await hctx.SpinUntil(() => hctx.Task.RareOrNull?.MdfPush == true, "the push deferred");
                            Volatile.Write(ref hCpuDeferred, hctx.CpuId);
                        }
                    }

                    Volatile.Write(ref releaseR, true);
                    long guard = RtClock.NowNs() + RtClock.ToNs(Rt.Hang);
                    while (Volatile.Read(ref lProgress) == 0 && RtClock.NowNs() < guard)
                    {
                        await hctx.PreemptionPoint(); // the stopper moves H at one of these
                        Thread.SpinWait(50);
                    }

                    Volatile.Write(ref hCpuAfter, hctx.RawCpuId);
                    Volatile.Write(ref hDone, true);
                });
                await ctx.PreemptionPoint(); // H preempts L here: the pile-up
                int resumed = ctx.CpuId;
                Interlocked.Increment(ref lProgress);
                await ctx.SpinUntil(() => Volatile.Read(ref hDone), "H done");
                return (cpu, resumed);
            }
        }, affinity: CpuSet.Of(0));

        var lr = await l.WithTimeout();
        await h!.WithTimeout();
        rWait.Set();
        await r.WithTimeout();
        Assert.Equal((0, 0), lr);
        Assert.Equal((0, 1), (hCpuAtWake, hCpuAfter));
        Assert.Equal(runnerPinsItself ? 0 : -1, hCpuDeferred);
        Assert.Equal(0, l.Migrations);
        Assert.True(rt.BalanceCounters.RunningPushes >= 1);
    }

    [Fact]
    public async Task BalanceCounters_RepeatedPileUpRepairs_EachMoveCountedOnce()
    {
        // Each round: M (60) holds CPU 1 while L (10), pinned on CPU 0, wakes H (50), which can only
        // queue behind L; then M sleeps, CPU 1 goes idle, and L passes a point: H preempts L and is
        // moved to CPU 1 (repaired on sight, pulled by the idle CPU, or pushed by the stopper).
        await using var rt = Rt.Start(cpus: 2, balance: BalancePolicy.WorkConserving);
        long moves = 0;
        for (int round = 0; round < 20; round++)
        {
            int release = 0;
            var m = rt.Spawn("M", 60, async ctx =>
            {
                await ctx.SpinUntil(() => Volatile.Read(ref release) != 0, "L released M");
                await ctx.Sleep(TimeSpan.FromMilliseconds(2));
            }, affinity: CpuSet.Of(1));
            await Rt.Until(() => m.State == RtTaskState.Running, "M running on CPU 1");
            RtTask? h = null;
            var l = rt.Spawn("L", 10, async ctx =>
            {
                using (ctx.MigrateDisable())
                {
                    h = rt.Spawn("H", 50, async c =>
                    {
                        for (int k = 0; k < 50; k++)
                        {
                            Thread.SpinWait(200);
                            await c.PreemptionPoint();
                        }
                    });
                    Volatile.Write(ref release, 1);
                    long until = RtClock.NowNs() + 500_000; // no point for 0.5 ms: M goes to sleep meanwhile
                    while (RtClock.NowNs() < until)
                    {
                        Thread.SpinWait(20);
                    }

                    await ctx.PreemptionPoint();
                }
            }, affinity: CpuSet.Of(0));
            await l.WithTimeout();
            await m.WithTimeout();
            await h!.WithTimeout();
            moves += h!.Migrations + l.Migrations + m.Migrations;
        }

        (long pushes, long pulls, long runningPushes) = rt.BalanceCounters;
        Assert.True(pushes + pulls + runningPushes <= moves, $"pushes {pushes} + pulls {pulls} + running pushes {runningPushes} > {moves} moves");
    }

    [Fact]
    public async Task SetAffinity_TaskMigrateDisabled_DeferredUntilOutermostEnable()
    {
        await using var rt = Rt.Start(cpus: 2);
        var leave = new RtEvent();
        int cpuInSection = -1;
        int cpuAfter = -1;
        var t = rt.Spawn("T", 10, async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                Volatile.Write(ref cpuInSection, ctx.CpuId);
                await leave.WaitAsync(ctx);
            }

            await ctx.PreemptionPoint();
            cpuAfter = ctx.RawCpuId;
        });
        await Rt.Until(() => Volatile.Read(ref cpuInSection) >= 0 && t.State == RtTaskState.Blocked, "T asleep inside its section");
        int other = 1 - cpuInSection;
        Task move = rt.SetAffinityAsync(t, CpuSet.Of(other));
        Assert.Equal(CpuSet.Of(other), t.Affinity);          // reported mask changes at once (cpus_mask)
        Assert.Equal(CpuSet.Of(cpuInSection), t.EffectiveAffinity); // pinned and switched out (cpus_ptr)
        Assert.False(move.IsCompleted);
        leave.Set();
        await move.WithTimeout();
        await t.WithTimeout();
        Assert.Equal(other, cpuAfter);
    }

    [Theory]
    [InlineData(false)] // scenario 23: {1} then {2}: both wait; T goes to CPU2 and both return
    [InlineData(true)]  // scenario 24: {1} then {0,1}: both return at once; T stays on CPU0
    public async Task SetAffinity_TwoRequestsWhileMigrateDisabled_LastWinsAndBothReturnTogether(bool secondIncludesCpu0)
    {
        await using var rt = Rt.Start(cpus: 3);
        var leave = new RtEvent();
        bool asleep = false;
        var t = rt.Spawn<(int InSection, int After, long MovesInSection)>("T", 10, async ctx =>
        {
            int inSection;
            long moves;
            using (ctx.MigrateDisable())
            {
                inSection = ctx.CpuId;
                long before = ctx.Task.Migrations;
                Volatile.Write(ref asleep, true);
                await leave.WaitAsync(ctx);
                moves = ctx.Task.Migrations - before;
            }

            await ctx.PreemptionPoint();
            return (inSection, ctx.RawCpuId, moves);
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => Volatile.Read(ref asleep) && t.State == RtTaskState.Blocked, "T asleep inside its section on CPU0");

        CpuSet second = secondIncludesCpu0 ? CpuSet.Of(0, 1) : CpuSet.Of(2);
        Task p1 = rt.SetAffinityAsync(t, CpuSet.Of(1));
        Assert.False(p1.IsCompleted);
        Task p2 = rt.SetAffinityAsync(t, second);
        Assert.Equal(second, t.Affinity);
        Assert.Equal(CpuSet.Of(0), t.EffectiveAffinity);
        if (secondIncludesCpu0)
        {
            Assert.True(p1.IsCompletedSuccessfully && p2.IsCompletedSuccessfully); // P2's mask holds T's CPU: both return at once
        }
        else
        {
            Assert.False(p1.IsCompleted || p2.IsCompleted); // both wait for T's outermost migrate_enable
        }

        leave.Set();
        await Task.WhenAll(p1, p2).WithTimeout();
        var r = await t.WithTimeout();
        Assert.Equal((0, secondIncludesCpu0 ? 0 : 2, 0L), r);
    }

    [Fact]
    public async Task DeferredPush_RequestedAsTheRunnerPins_HappensAtItsOutermostMigrateEnable()
    {
        // Scenario 14 (MDF_PUSH) on real threads: the push of the running H is requested, H pins itself
        // before the stop work runs, so the push is recorded, not done; H's outermost migrate_enable
        // then pushes it to the idle CPU.
        await using var rt = Rt.Start(cpus: 2);
        int requested = 0;
        int cpuBefore = -1;
        int cpuInSection = -1;
        int cpuAfter = -1;
        var h = rt.Spawn("H", 50, async ctx =>
        {
            Volatile.Write(ref cpuBefore, ctx.RawCpuId);
            while (Volatile.Read(ref requested) == 0)
            {
                Thread.SpinWait(20); // no preemption point: the requested stop work waits for one
            }

            using (ctx.MigrateDisable())
            {
                await ctx.PreemptionPoint(); // the stop work runs here, and defers the push
                cpuInSection = ctx.CpuId;
            }

            await ctx.PreemptionPoint(); // the enable queued the stop work again: H moves here
            cpuAfter = ctx.RawCpuId;
        });
        await Rt.Until(() => Volatile.Read(ref cpuBefore) >= 0, "H running");
        RtRuntime.Scheduling.Balancer.RequestPushRunning(rt.Cpus[cpuBefore]);
        Volatile.Write(ref requested, 1);
        await h.WithTimeout();
        Assert.Equal(cpuBefore, cpuInSection);
        Assert.Equal(1 - cpuBefore, cpuAfter);
    }

    [Fact]
    public async Task SetAffinity_SelfWhileMigrateDisabledExcludingCpu_DeniedWithEbusyMaskUnchanged()
    {
        await using var rt = Rt.Start(cpus: 2);
        var t = rt.Spawn<(string Message, CpuSet After, bool WideOk)>("T", 10, async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                int cpu = ctx.CpuId;
                var e = Assert.Throws<InvalidOperationException>(() => { _ = rt.SetAffinityAsync(ctx.Task, CpuSet.Of(1 - cpu)); });
                CpuSet after = ctx.Task.Affinity;
                Task wide = rt.SetAffinityAsync(ctx.Task, CpuSet.Of(0, 1));
                await ctx.PreemptionPoint();
                return (e.Message, after, wide.IsCompletedSuccessfully);
            }
        });
        var r = await t.AsTask().WithTimeout();
        Assert.Contains("EBUSY", r.Message, StringComparison.Ordinal);
        Assert.Equal(CpuSet.Of(0, 1), r.After);
        Assert.True(r.WideOk);
    }

    [Fact]
    public async Task Interference_PinnedTaskPreemptedByHigher_AccountedOnlyWhilePinned()
    {
        await using var rt = Rt.Start(cpus: 1);
        var l = rt.Spawn("L", 10, async ctx =>
        {
            var unpinnedPreemptor = rt.Spawn("H1", 50, _ => { Thread.SpinWait(1000); return ValueTask.CompletedTask; });
            await ctx.PreemptionPoint(); // preempted while migratable: no interference
            await unpinnedPreemptor;
            Assert.Equal(TimeSpan.Zero, ctx.Task.Interference);
            using (ctx.MigrateDisable())
            {
                var pinnedPreemptor = rt.Spawn("H2", 50, _ => { Thread.SpinWait(1000); return ValueTask.CompletedTask; });
                await ctx.PreemptionPoint(); // preempted while pinned: interference
            }
        });
        await l.WithTimeout();
        Assert.True(l.Interference > TimeSpan.Zero);
        Assert.Equal(2, l.Preemptions);
    }
}
