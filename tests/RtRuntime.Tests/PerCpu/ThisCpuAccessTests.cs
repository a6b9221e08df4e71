using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using RtRuntime.Cpus;
using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.PerCpu;

/// <summary>
/// this_cpu_ptr / per_cpu_ptr (scenarios 32 and 37): this CPU's slot only while preempt- or
/// migrate-disabled (else the DEBUG_PREEMPT BUG), any CPU's slot by index, slots outlive hotplug.
/// </summary>
public class ThisCpuAccessTests
{
    private sealed class Slot(int cpu)
    {
        public int Cpu { get; } = cpu;
    }

    [Fact]
    public async Task ThisCpu_PreemptibleStrict_ThrowsAndReportsBug()
    {
        await using var rt = Rt.Start(cpus: 2); // two CPUs: a task allowed on one only is exempt (is_percpu_thread)
        var slots = new PerCpu<long>(rt);
        var reports = new ConcurrentQueue<BugReport>();
        rt.BugReported += reports.Enqueue;
        var t = rt.Spawn<string>("reader", 10, ctx =>
            ValueTask.FromResult(Assert.Throws<InvalidOperationException>(() => slots.ThisCpu(ctx)++).Message), affinity: CpuSet.Of(0, 1));

        string message = await t.WithTimeout();
        Assert.StartsWith("BUG: using this-CPU data in preemptible", message, StringComparison.Ordinal);
        Assert.Contains($"code: reader/{t.Id}", message, StringComparison.Ordinal);
        BugReport report = Assert.Single(reports);
        Assert.Equal(BugKind.ThisCpuInPreemptible, report.Kind);
        Assert.Equal(("reader", t.Id), (report.TaskName, report.TaskId));
        Assert.Equal((0L, 0L), (slots.Remote(0), slots.Remote(1))); // the throw came before the write
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task ThisCpu_PreemptibleNotStrict_ReportsEveryAccessAndReturnsThisCpusSlot()
    {
        await using var rt = StartNotStrict(3, out PerCpu<long> slots, out ConcurrentQueue<BugReport> reports);
        var t = rt.Spawn<int>("writer", 10, ctx =>
        {
            slots.ThisCpu(ctx) = 7;
            slots.ThisCpu(ctx) += 1;
            return ValueTask.FromResult(ctx.RawCpuId);
        }, affinity: CpuSet.Of(1, 2)); // two CPUs: not a per-CPU task

        int cpu = await t.WithTimeout();
        Assert.Contains(cpu, new[] { 1, 2 });
        Assert.Equal(8L, slots.Remote(cpu));
        Assert.Equal(8L, Enumerable.Range(0, 3).Sum(c => slots.Remote(c)));
        Assert.Equal(2, reports.Count);
        Assert.All(reports, r => Assert.Equal((BugKind.ThisCpuInPreemptible, cpu), (r.Kind, r.Cpu)));
    }

    [Fact]
    public async Task TaskBoundToOneCpuWithoutGuard_CpuIdSilentButThisCpuReported()
    {
        // smp_processor_id() of a task bound to one CPU is a value that stays right until its affinity
        // changes; this_cpu_ptr() hands out the slot, whose per-CPU object can outlive the call, and
        // SetAffinityAsync can move the task at its next point: only the kernel's per-CPU threads, whose
        // affinity cannot change, are exempt there.
        await using var rt = StartNotStrict(2, out PerCpu<long> slots, out ConcurrentQueue<BugReport> reports);
        var t = rt.Spawn<(int, int)>("bound", 10, ctx =>
        {
            int cpu = ctx.CpuId;
            int afterCpuId = reports.Count;
            slots.ThisCpu(ctx) += 5;
            return ValueTask.FromResult((cpu, afterCpuId));
        }, affinity: CpuSet.Of(1));

        Assert.Equal((1, 0), await t.WithTimeout());
        Assert.Equal((0L, 5L), (slots.Remote(0), slots.Remote(1)));
        Assert.Equal(BugKind.ThisCpuInPreemptible, Assert.Single(reports).Kind);
    }

    /// <summary>A runtime without strict checks (BUGs reported, not thrown), a slot per CPU, and the reports it makes.</summary>
    private static RtScheduler StartNotStrict(int cpus, out PerCpu<long> slots, out ConcurrentQueue<BugReport> reports)
    {
        RtScheduler rt = Rt.Start(o =>
        {
            o.CpuCount = cpus;
            o.StrictChecks = false;
        });
        slots = new PerCpu<long>(rt);
        var queue = new ConcurrentQueue<BugReport>();
        rt.BugReported += queue.Enqueue;
        reports = queue;
        return rt;
    }

    [Fact]
    public async Task Slots_OfAnySize_HaveAtLeast128BytesBetweenThem()
    {
        await using var rt = Rt.Start(cpus: 3);
        AssertGap<long>(rt);
        AssertGap<Bytes120>(rt);
        AssertGap<Bytes128>(rt);
        AssertGap<Bytes200>(rt);
    }

    private static void AssertGap<T>(RtScheduler rt)
    {
        var slots = new PerCpu<T>(rt);
        for (int cpu = 0; cpu < 2; cpu++)
        {
            long gap = (long)Unsafe.ByteOffset(ref slots.Remote(cpu), ref slots.Remote(cpu + 1)) - Unsafe.SizeOf<T>();
            Assert.True(gap >= 128, $"{typeof(T).Name}: {gap} bytes between cpu{cpu}'s slot and cpu{cpu + 1}'s");
        }
    }

    [StructLayout(LayoutKind.Sequential, Size = 120)]
    private struct Bytes120
    {
        public long First;
    }

    [StructLayout(LayoutKind.Sequential, Size = 128)]
    private struct Bytes128
    {
        public long First;
    }

    [StructLayout(LayoutKind.Sequential, Size = 200)]
    private struct Bytes200
    {
        public long First;
    }

    [Theory]
    [InlineData(PreemptionModel.Rt)]
    [InlineData(PreemptionModel.NonRt)]
    public async Task ThisCpuAndCpuId_UnderPreemptOrMigrateDisable_NoReportAndSlotIsThisCpus(PreemptionModel model)
    {
        await using var rt = Rt.Start(cpus: 2, model: model);
        var slots = new PerCpu<Slot>(rt, cpu => new Slot(cpu));
        var t = rt.Spawn<List<(int CpuId, int SlotCpu)>>("reader", 10, ctx =>
        {
            var seen = new List<(int, int)>();
            using (ctx.PreemptDisable())
            {
                seen.Add((ctx.CpuId, slots.ThisCpu(ctx).Cpu));
            }

            using (ctx.MigrateDisable())
            {
                seen.Add((ctx.CpuId, slots.ThisCpu(ctx).Cpu));
                using (ctx.PreemptDisable())
                {
                    seen.Add((ctx.CpuId, slots.ThisCpu(ctx).Cpu));
                }
            }

            seen.Add((ctx.RawCpuId, ctx.RawCpuId));
            return ValueTask.FromResult(seen);
        });

        var seen = await t.WithTimeout();
        int cpu = seen[^1].CpuId;
        Assert.All(seen, s => Assert.Equal((cpu, cpu), s));
        Assert.Equal(0, rt.BugCount);
    }

    [Fact]
    public async Task CpuIdAndThisCpu_PreemptibleThenGuarded_OnlyPreemptibleUsesReported()
    {
        // Scenario 32 end to end, not strict: two preemptible uses reported (one of each kind), none guarded.
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.StrictChecks = false;
        });
        var slots = new PerCpu<long>(rt);
        var reports = new ConcurrentQueue<BugReport>();
        rt.BugReported += reports.Enqueue;
        var t = rt.Spawn("user", 10, async ctx =>
        {
            _ = ctx.CpuId;
            slots.ThisCpu(ctx)++;
            await using (ctx.MigrateDisable())
            {
                _ = ctx.CpuId;
                slots.ThisCpu(ctx)++;
                await ctx.PreemptionPoint();
                slots.ThisCpu(ctx)++;
            }

            using (ctx.PreemptDisable())
            {
                _ = ctx.CpuId;
                slots.ThisCpu(ctx)++;
            }
        });

        await t.WithTimeout();
        Assert.Equal([BugKind.ProcessorIdInPreemptible, BugKind.ThisCpuInPreemptible], reports.Select(r => r.Kind).ToArray());
        Assert.Equal(4, slots.Remote(0) + slots.Remote(1));
    }

    [Fact]
    public async Task ThisCpu_RefTakenInsideMigrateDisable_IsTheSameSlotAfterPreemption()
    {
        // The reference obtained before a preemption and the one after refer to the same storage.
        await using var rt = Rt.Start(cpus: 2);
        var slots = new PerCpu<long>(rt);
        var log = new EventLog();
        var t = rt.Spawn<(bool Same, bool IsRemote, int Before, int After, long Moves)>("T", 10, async ctx =>
        {
            int before, after;
            bool same, isRemote;
            long migrations;
            using (ctx.MigrateDisable())
            {
                migrations = ctx.Task.Migrations;
                before = ctx.CpuId;
                long marker = Interlocked.Increment(ref slots.ThisCpu(ctx));
                _ = rt.Spawn("H", 50, _ =>
                {
                    log.Add("H");
                    return ValueTask.CompletedTask;
                }, affinity: CpuSet.Of(before));
                await ctx.PreemptionPoint();
                log.Add("T:resumed");
                after = ctx.CpuId;
                same = Unsafe.AreSame(ref slots.ThisCpu(ctx), ref slots.Remote(before)) && slots.ThisCpu(ctx) == marker;
                isRemote = Unsafe.AreSame(ref slots.ThisCpu(ctx), ref slots.Remote(after));
                migrations = ctx.Task.Migrations - migrations;
            }

            return (same, isRemote, before, after, migrations);
        });

        var r = await t.WithTimeout();
        Assert.Equal((true, true), (r.Same, r.IsRemote));
        Assert.Equal(r.Before, r.After);
        Assert.Equal(["H", "T:resumed"], log.Snapshot());
        Assert.Equal(0, r.Moves);
    }

    [Fact]
    public async Task Remote_ReadOfAnotherCpusSlotFromPreemptibleCode_AllowedWithoutReport()
    {
        // Scenario 37: per_cpu_ptr() of CPU1 from CPU0 is unchecked; an RtEvent orders the accesses.
        await using var rt = Rt.Start(cpus: 2);
        var slots = new PerCpu<long>(rt, cpu => 100 + cpu);
        var counter = new PerCpuCounter(rt);
        var written = new RtEvent();
        var readBack = new RtEvent();
        var owner = rt.Spawn<long>("owner", 10, async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                slots.ThisCpu(ctx) = 41;
            }

            counter.Add(ctx, 5);
            written.Set();
            await readBack.WaitAsync(ctx);
            using (ctx.MigrateDisable())
            {
                return slots.ThisCpu(ctx); // the remote writer's value
            }
        }, affinity: CpuSet.Of(1));
        var remote = rt.Spawn<(long, long, long, int)>("remote", 10, async ctx =>
        {
            await written.WaitAsync(ctx);
            long read = slots.Remote(1);
            long other = slots.Remote(0);
            slots.Remote(1) = 42;
            readBack.Set();
            return (read, other, counter.Read(1), ctx.RawCpuId);
        }, affinity: CpuSet.Of(0));

        Assert.Equal((41L, 100L, 5L, 0), await remote.WithTimeout());
        Assert.Equal(42, await owner.WithTimeout());
        Assert.Equal(0, rt.BugCount);
    }

    [Fact]
    public async Task Remote_FromTestThread_ReadsEverySlotAndSlotsAreDistinct()
    {
        await using var rt = Rt.Start(cpus: 4);
        var slots = new PerCpu<int>(rt, cpu => cpu * 10);
        Assert.Equal(4, slots.CpuCount);
        Assert.Equal([0, 10, 20, 30], Enumerable.Range(0, 4).Select(c => slots.Remote(c)).ToArray());
        slots.Remote(2) = 7;
        Assert.Equal([0, 10, 7, 30], Enumerable.Range(0, 4).Select(c => slots.Remote(c)).ToArray());
        Assert.False(Unsafe.AreSame(ref slots.Remote(0), ref slots.Remote(1)));
        Assert.True(Unsafe.AreSame(ref slots.Remote(3), ref slots.Remote(3)));
    }

    [Fact]
    public void PerCpu_NullRuntime_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => new PerCpu<int>(null!));
        Assert.Throws<ArgumentNullException>(() => new PerCpuCounter(null!));
        Assert.Throws<ArgumentNullException>(() => new LocalLock(null!));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(2)]
    [InlineData(int.MinValue)]
    [InlineData(int.MaxValue)]
    public async Task Remote_CpuOutOfRange_ThrowsArgumentOutOfRange(int cpu)
    {
        await using var rt = Rt.Start(cpus: 2);
        var slots = new PerCpu<long>(rt);
        var counter = new PerCpuCounter(rt);
        var ll = new LocalLock(rt, "ll");
        Assert.Equal("cpu", Assert.Throws<ArgumentOutOfRangeException>(() => slots.Remote(cpu)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => counter.Read(cpu));
        Assert.Throws<ArgumentOutOfRangeException>(() => ll.OwnerOn(cpu));
    }

    [Fact]
    public async Task ThisCpu_ContextUsedFromTestThread_ThrowsWithoutTouchingSlots()
    {
        await using var rt = Rt.Start(cpus: 1);
        var slots = new PerCpu<long>(rt);
        var counter = new PerCpuCounter(rt);
        var go = new RtEvent();
        TaskContext captured = default;
        var t = rt.Spawn("sleeper", 10, async ctx =>
        {
            captured = ctx;
            await go.WaitAsync(ctx);
        });
        await Rt.Until(() => t.State == RtTaskState.Blocked, "sleeper blocked");

        Assert.Throws<InvalidOperationException>(() => slots.ThisCpu(captured)++);
        Assert.Throws<InvalidOperationException>(() => counter.Increment(captured));
        go.Set();
        await t.WithTimeout();
        Assert.Equal(0, slots.Remote(0));
        Assert.Equal(0, counter.Sum());
    }

    [Fact]
    public async Task Slots_CpuGoesOfflineAndOnline_ValuesSurvive()
    {
        // Per-CPU data of possible CPUs outlives hotplug; the counter's sum counts offline CPUs too.
        await using var rt = Rt.Start(cpus: 2);
        var slots = new PerCpu<long>(rt);
        var counter = new PerCpuCounter(rt);
        var t = rt.Spawn("writer", 10, ctx =>
        {
            using (ctx.MigrateDisable())
            {
                slots.ThisCpu(ctx) = 5;
            }

            counter.Add(ctx, 3);
            return ValueTask.CompletedTask;
        }, affinity: CpuSet.Of(1));
        await t.WithTimeout();

        await rt.OfflineAsync(1).WithTimeout();
        Assert.Equal((5L, 3L, 3L), (slots.Remote(1), counter.Read(1), counter.Sum()));
        await rt.OnlineAsync(1).WithTimeout();
        var again = rt.Spawn<long>("reader", 10, ctx =>
        {
            using (ctx.MigrateDisable())
            {
                return ValueTask.FromResult(slots.ThisCpu(ctx) + counter.ReadThisCpu(ctx));
            }
        }, affinity: CpuSet.Of(1));
        Assert.Equal(8, await again.WithTimeout());
    }
}
