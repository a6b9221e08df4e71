using RtRuntime.Cpus;
using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.PerCpu;

/// <summary>
/// Scenario 33: a task inside migrate_disable that holds CPU0's slot may be preempted, but resumes on
/// CPU0 with the same slot; many such tasks leave exact per-slot sums.
/// </summary>
public class PerCpuConsistencyTests
{
    /// <summary>A class slot, so a task can hold "the pointer" across awaits.</summary>
    private sealed class Slot(int cpu)
    {
        public int Cpu { get; } = cpu;

        public long Value;
    }

    [Fact]
    public async Task ThisCpu_HeldAcrossPreemptionInsideMigrateDisable_StillCpu0sSlotAfterResume()
    {
        // The other CPU is idle while T waits preempted: T is pinned, so nothing moves it there.
        await using var rt = Rt.Start(cpus: 2);
        var slots = new PerCpu<Slot>(rt, cpu => new Slot(cpu));
        var log = new EventLog();
        RtTask? h = null;
        var t = rt.Spawn<(Slot Before, Slot After, int CpuAfter)>("T", 10, async ctx =>
        {
            await rt.SetAffinityAsync(ctx.Task, CpuSet.Of(0, 1)); // started on CPU0; may now run on either
            using (ctx.MigrateDisable())
            {
                Slot mine = slots.ThisCpu(ctx);
                mine.Value++;
                h = rt.Spawn("H", 50, hctx =>
                {
                    log.Add($"H:run on cpu{hctx.RawCpuId}, T preempted, nr_pinned {rt.NrPinned(0)}");
                    return ValueTask.CompletedTask;
                }, affinity: CpuSet.Of(0));
                await ctx.PreemptionPoint();
                log.Add("T:resumed");
                mine.Value++;
                return (mine, slots.ThisCpu(ctx), ctx.CpuId);
            }
        }, affinity: CpuSet.Of(0)); // CPU1 stays idle: T, allowed there but pinned, must still not go there
        var r = await t.WithTimeout();
        await h!.WithTimeout();
        Assert.Equal(0, r.CpuAfter);
        Assert.Same(r.Before, r.After);
        Assert.Same(slots.Remote(0), r.Before);
        Assert.Equal((0, 2L), (r.Before.Cpu, r.Before.Value));
        Assert.Equal(0, slots.Remote(1).Value);
        Assert.Equal(["H:run on cpu0, T preempted, nr_pinned 1", "T:resumed"], log.Snapshot());
        Assert.Equal((0L, 1L), (t.Migrations, t.Preemptions));
        Assert.Equal(CpuSet.Of(0, 1), t.Affinity);
        Assert.Equal(0, rt.NrPinned(0));
    }

    [Fact]
    public async Task ThisCpu_ManyTasksIncrementAcrossPreemptionPointsInsideMigrateDisable_EverySlotExact()
    {
        // Each increment is one synchronous read-modify-write; the section spans preemption points,
        // sleeps and wakeups of higher tasks on the same CPU. Every slot equals the increments its CPU
        // saw, as counted by the tasks themselves with the CPU id read under the guard.
        const int tasks = 24, rounds = 200;
        await using var rt = Rt.Start(cpus: 4);
        var slots = new PerCpu<Slot>(rt, cpu => new Slot(cpu));
        var perTask = new long[tasks][];
        var all = Enumerable.Range(0, tasks).Select(i => rt.Spawn("inc" + i, 10 + (i % 6) * 10, async ctx =>
        {
            var counts = perTask[i] = new long[4];
            for (int k = 0; k < rounds; k++)
            {
                using (ctx.MigrateDisable())
                {
                    int cpu = ctx.CpuId;
                    Slot slot = slots.ThisCpu(ctx);
                    Assert.Equal(cpu, slot.Cpu);
                    slot.Value++;
                    await ctx.PreemptionPoint();
                    if (k % 25 == i % 25)
                    {
                        await ctx.Sleep(TimeSpan.FromMilliseconds(1)); // blocking inside the section: wakes back here
                    }

                    Assert.Equal(cpu, ctx.CpuId);
                    Assert.Same(slot, slots.ThisCpu(ctx));
                    slot.Value++;
                    counts[cpu] += 2;
                }

                if (k % 10 == 0)
                {
                    await ctx.Yield();
                }
                else
                {
                    await ctx.PreemptionPoint();
                }
            }
        })).ToList();

        await all.AllWithTimeout();
        Assert.All(all, t => Assert.Equal(RtTaskState.Completed, t.State));
        for (int cpu = 0; cpu < 4; cpu++)
        {
            Assert.Equal(perTask.Sum(c => c[cpu]), slots.Remote(cpu).Value);
            Assert.Equal(0, rt.NrPinned(cpu));
        }

        Assert.Equal(2L * tasks * rounds, Enumerable.Range(0, 4).Sum(c => slots.Remote(c).Value));
        Assert.Equal(0, rt.BugCount);
    }
}
