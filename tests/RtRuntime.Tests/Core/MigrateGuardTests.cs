using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>migrate_disable under the Rt model: preemptible, never leaves its CPU, counted in nr_pinned.</summary>
public class MigrateGuardTests
{
    [Fact]
    public async Task MigrateDisable_NestedThreeTimes_NrPinnedRisesByExactlyOneUntilOutermostEnable()
    {
        // Scenario 1: counter 3, nr_pinned +1 once, preempt depth 0 after each call; two enables leave
        // counter 1 and nr_pinned unchanged; the third restores nr_pinned.
        await using var rt = Rt.Start(cpus: 2);
        var t = rt.Spawn<List<(int Depth, int PreemptDepth, int NrPinned, int OtherNrPinned)>>("T", 10, ctx =>
        {
            var steps = new List<(int, int, int, int)>();
            var g1 = ctx.MigrateDisable();
            int cpu = ctx.CpuId; // allowed: migration is disabled
            int other = 1 - cpu;
            void Record() => steps.Add((ctx.MigrateDisableDepth, ctx.PreemptDepth, rt.NrPinned(cpu), rt.NrPinned(other)));
            Record();
            var g2 = ctx.MigrateDisable();
            Record();
            var g3 = ctx.MigrateDisable();
            Record();
            g3.Dispose();
            Record();
            g2.Dispose();
            Record();
            g1.Dispose();
            Record();
            return ValueTask.FromResult(steps);
        });

        var steps = await t.WithTimeout();
        Assert.Equal([(1, 0, 1, 0), (2, 0, 1, 0), (3, 0, 1, 0), (2, 0, 1, 0), (1, 0, 1, 0), (0, 0, 0, 0)], steps);
        Assert.Equal(0, rt.BugCount);
    }

    [Fact]
    public async Task MigrateDisable_PreemptedInsideSection_HigherTaskRunsAtNextPointAndLowResumesOnSameCpu()
    {
        // Scenario 4 (one CPU): H runs at L's next preemption point although L is migrate-disabled.
        await using var rt = Rt.Start(cpus: 1);
        var log = new EventLog();
        RtTask? h = null;
        var l = rt.Spawn("L", 10, async ctx =>
        {
            await using (ctx.MigrateDisable())
            {
                h = rt.Spawn("H", 50, _ =>
                {
                    log.Add($"H:run nr_pinned={rt.NrPinned(0)}");
                    return ValueTask.CompletedTask;
                });
                log.Add("L:woke H");
                await ctx.PreemptionPoint();
                log.Add($"L:resumed on cpu{ctx.CpuId} depth {ctx.MigrateDisableDepth}");
            }

            log.Add($"L:enabled nr_pinned={rt.NrPinned(0)}");
        });
        await l.WithTimeout();
        await h!.WithTimeout();

        Assert.Equal(["L:woke H", "H:run nr_pinned=1", "L:resumed on cpu0 depth 1", "L:enabled nr_pinned=0"], log.Snapshot());
        Assert.Equal(1, l.Preemptions);
        Assert.Equal(0, l.Migrations);
    }

    [Fact]
    public async Task MigrateDisable_ManyPreemptionsAndYieldsWhileOtherCpuIdle_NeverLeavesCpu()
    {
        await using var rt = Rt.Start(cpus: 2);
        const int Rounds = 20;
        var seen = new List<(int NrPinned, RtTaskState State, CpuSet Effective, CpuSet Affinity)>();
        var l = rt.Spawn<(int Start, int[] Cpus, long MigrationsBefore, long MigrationsAfter, long Preemptions, CpuSet EffectiveRunning, CpuSet EffectiveAfter)>("L", 10, async ctx =>
        {
            RtTask self = ctx.Task;
            (int, int[], long, long, long) r;
            CpuSet effectiveRunning;
            using (ctx.MigrateDisable())
            {
                effectiveRunning = self.EffectiveAffinity; // running: cpus_ptr is still cpus_mask (the pin is lazy)
                int start = ctx.CpuId;
                long migrationsBefore = self.Migrations;
                long preemptionsBefore = self.Preemptions;
                var cpus = new List<int>();
                for (int i = 0; i < Rounds; i++)
                {
                    // H may only run on L's CPU, so it preempts L there; the other CPU is idle and
                    // would take L if L could migrate.
                    var h = rt.Spawn("H" + i, 50, _ =>
                    {
                        seen.Add((rt.NrPinned(start), self.State, self.EffectiveAffinity, self.Affinity));
                        return ValueTask.CompletedTask;
                    }, affinity: CpuSet.Of(start));
                    await ctx.PreemptionPoint();
                    cpus.Add(ctx.CpuId);
                    await ctx.Yield();
                    cpus.Add(ctx.CpuId);
                    Assert.True(h.IsCompleted);
                }

                r = (start, cpus.ToArray(), migrationsBefore, self.Migrations, self.Preemptions - preemptionsBefore);
            }

            return (r.Item1, r.Item2, r.Item3, r.Item4, r.Item5, effectiveRunning, self.EffectiveAffinity);
        });

        var r = await l.WithTimeout();
        Assert.Equal((CpuSet.Range(0, 2), CpuSet.Range(0, 2)), (r.EffectiveRunning, r.EffectiveAfter)); // scenario 6
        Assert.All(r.Cpus, c => Assert.Equal(r.Start, c));
        Assert.Equal(2 * Rounds, r.Cpus.Length);
        Assert.Equal(r.MigrationsBefore, r.MigrationsAfter);
        Assert.Equal(Rounds, r.Preemptions);
        Assert.Equal(Rounds, seen.Count);
        Assert.All(seen, s =>
        {
            Assert.Equal(1, s.NrPinned);
            Assert.Equal(RtTaskState.Runnable, s.State);
            Assert.Equal(CpuSet.Of(r.Start), s.Effective); // cpus_ptr: pinned while switched out
            Assert.Equal(CpuSet.Range(0, 2), s.Affinity);  // cpus_mask unchanged
        });
    }

    [Fact]
    public async Task PreemptionPoint_PreemptedWithoutMigrateDisableWhileOtherCpuIdle_MovesToOtherCpu()
    {
        // Control for the test above: without the guard the preempted task is pushed to the idle CPU.
        await using var rt = Rt.Start(cpus: 2);
        var l = rt.Spawn<(int Before, int After, long Migrations)>("L", 10, async ctx =>
        {
            int before = ctx.RawCpuId;
            var h = rt.Spawn("H", 50, _ => ValueTask.CompletedTask, affinity: CpuSet.Of(before));
            await ctx.PreemptionPoint();
            return (before, ctx.RawCpuId, ctx.Task.Migrations);
        });

        var r = await l.WithTimeout();
        Assert.NotEqual(r.Before, r.After);
        Assert.Equal(1, r.Migrations);
    }

    [Fact]
    public async Task MigrateDisable_SleepingInsideSection_NrPinnedCountsTaskUntilOutermostEnable()
    {
        await using var rt = Rt.Start(cpus: 2);
        var inSection = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var t = rt.Spawn<(int NrPinnedAfterWake, int CpuAfterWake, int NrPinnedAfterEnable)>("sleeper", 10, async ctx =>
        {
            int nrAfterWake, cpuAfterWake, cpu;
            using (ctx.MigrateDisable())
            {
                cpu = ctx.CpuId;
                inSection.SetResult(cpu);
                try
                {
                    await ctx.Sleep(TimeSpan.FromHours(1));
                }
                catch (OperationCanceledException)
                {
                }

                nrAfterWake = rt.NrPinned(cpu);
                cpuAfterWake = ctx.CpuId;
            }

            return (nrAfterWake, cpuAfterWake, rt.NrPinned(cpu));
        });

        int cpu = await inSection.Task.WithTimeout();
        await Rt.Until(() => t.State == RtTaskState.Blocked, "the task sleeps");
        Assert.Equal(1, rt.NrPinned(cpu));
        Assert.Equal(0, rt.NrPinned(1 - cpu));
        Assert.Equal(1, t.MigrateDisableDepth);
        Assert.Equal(CpuSet.Of(cpu), t.EffectiveAffinity);

        t.Cancel();
        var r = await t.WithTimeout();
        Assert.Equal((1, cpu, 0), r);
        Assert.Equal(0, rt.NrPinned(cpu));
    }

    [Fact]
    public async Task MigrateDisable_ForeignAwaitInsideSectionWhileCpuBusy_WakesOnItsOwnCpuNotTheIdleOne()
    {
        // Scenario 7: blocked inside the section, woken while another CPU is idle: enqueued on its own
        // CPU (behind a busy higher-priority task), still counted in nr_pinned.
        await using var rt = Rt.Start(cpus: 2);
        var inSection = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseBusy = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var t = rt.Spawn<(int Cpu, long Migrations)>("T", 10, async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                long migrations = ctx.Task.Migrations;
                inSection.SetResult(ctx.CpuId);
                await wake.Task;
                return (ctx.CpuId, ctx.Task.Migrations - migrations);
            }
        });

        int cpu = await inSection.Task.WithTimeout();
        await Rt.Until(() => t.State == RtTaskState.Blocked, "T blocks on the foreign await");
        Assert.Equal(1, rt.NrPinned(cpu));

        var busyRunning = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var busy = rt.Spawn("busy", 60, async ctx =>
        {
            busyRunning.SetResult();
            await ctx.SpinUntil(() => releaseBusy.Task.IsCompleted, "released");
        }, affinity: CpuSet.Of(cpu));
        await busyRunning.Task.WithTimeout();

        wake.SetResult();
        await Rt.Until(() => t.State == RtTaskState.Runnable, "T is woken");
        Assert.Equal(cpu, t.CurrentCpu);
        Assert.Equal(1, rt.NrPinned(cpu));

        releaseBusy.SetResult();
        await busy.WithTimeout();
        var r = await t.WithTimeout();
        Assert.Equal((cpu, 0L), r);
        Assert.Equal(0, rt.NrPinned(cpu));
    }

    [Fact]
    public async Task MigrateGuardDispose_Twice_ThrowsAndNrPinnedUnchanged()
    {
        // Scenario 2: an extra migrate_enable is refused; counter stays 0, nr_pinned unchanged.
        await using var rt = Rt.Start(cpus: 1);
        var t = rt.Spawn<(string Message, int Depth, int NrPinned)>("T", 10, ctx =>
        {
            var g = ctx.MigrateDisable();
            g.Dispose();
            var e = Assert.Throws<InvalidOperationException>(() => g.Dispose());
            return ValueTask.FromResult((e.Message, ctx.MigrateDisableDepth, rt.NrPinned(0)));
        });

        var r = await t.WithTimeout();
        Assert.Contains("migrate_enable underflow or out of order", r.Message, StringComparison.Ordinal);
        Assert.Contains("not the innermost live one (depth is 0)", r.Message, StringComparison.Ordinal);
        Assert.Equal(0, r.Depth);
        Assert.Equal(0, r.NrPinned);
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task MigrateGuardDispose_OutOfOrder_ThrowsAndKeepsPin()
    {
        await using var rt = Rt.Start(cpus: 1);
        var t = rt.Spawn<(string Message, int Depth, int NrPinned, int NrPinnedAtEnd)>("T", 10, ctx =>
        {
            var outer = ctx.MigrateDisable();
            var inner = ctx.MigrateDisable();
            var e = Assert.Throws<InvalidOperationException>(() => outer.Dispose());
            int depth = ctx.MigrateDisableDepth, pinned = rt.NrPinned(0);
            inner.Dispose();
            outer.Dispose();
            return ValueTask.FromResult((e.Message, depth, pinned, rt.NrPinned(0)));
        });

        var r = await t.WithTimeout();
        Assert.Contains("not the innermost live one (depth is 2)", r.Message, StringComparison.Ordinal);
        Assert.Equal((2, 1, 0), (r.Depth, r.NrPinned, r.NrPinnedAtEnd));
    }

    [Fact]
    public async Task MigrateDisable_BeyondMaxDepth_ThrowsOverflowNamingLimit()
    {
        await using var rt = Rt.Start(cpus: 1);
        var t = rt.Spawn<(string Message, int Depth, int NrPinned)>("T", 10, ctx =>
        {
            var guards = new Stack<MigrateGuard>();
            for (int i = 0; i < MigrateGuard.MaxDepth; i++)
            {
                guards.Push(ctx.MigrateDisable());
            }

            var e = Assert.Throws<InvalidOperationException>(() => ctx.MigrateDisable());
            int depth = ctx.MigrateDisableDepth, pinned = rt.NrPinned(0);
            while (guards.Count > 0)
            {
                guards.Pop().Dispose();
            }

            return ValueTask.FromResult((e.Message, depth, pinned));
        });

        var r = await t.WithTimeout();
        Assert.Contains("overflow", r.Message, StringComparison.Ordinal);
        Assert.Contains("32767", r.Message, StringComparison.Ordinal);
        Assert.Equal((32767, 1), (r.Depth, r.NrPinned));
        Assert.Equal(0, rt.NrPinned(0));
    }

    [Fact]
    public async Task MigrateDisable_TaskEndsInsideSection_NrPinnedRestored()
    {
        await using var rt = Rt.Start(cpus: 1);
        var leakedCompleted = rt.Spawn("leak-ok", 10, ctx =>
        {
            _ = ctx.MigrateDisable(); // never enabled
            return ValueTask.CompletedTask;
        });
        await leakedCompleted.WithTimeout();
        Assert.Equal(0, rt.NrPinned(0));

        var leakedFaulted = rt.Spawn("leak-throw", 10, async ctx =>
        {
            _ = ctx.MigrateDisable();
            await ctx.Yield();
            throw new InvalidTimeZoneException("boom");
        });
        await Assert.ThrowsAsync<InvalidTimeZoneException>(() => leakedFaulted.WithTimeout());
        Assert.Equal(RtTaskState.Faulted, leakedFaulted.State);
        Assert.Equal(0, rt.NrPinned(0));
        await rt.AssertStillRunsTasks();
    }
}
