using System.Collections.Concurrent;
using RtRuntime.Cpus;
using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.PerCpu;

/// <summary>
/// Scenario 34: this_cpu_add/inc are single operations, safe without a guard from preemptible code
/// (the sum is exact); a this-CPU read-modify-write through ThisCpu in preemptible code is flagged.
/// </summary>
public class PerCpuCounterTests
{
    [Fact]
    public async Task Increment_ManyPreemptibleTasksWithoutGuard_SumEqualsOperations()
    {
        const int tasks = 32, rounds = 500;
        await using var rt = Rt.Start(cpus: 4);
        var counter = new PerCpuCounter(rt);
        var all = Enumerable.Range(0, tasks).Select(i => rt.Spawn("inc" + i, 10 + (i % 8) * 5, async ctx =>
        {
            for (int k = 0; k < rounds; k++)
            {
                counter.Increment(ctx);
                counter.Add(ctx, 2);
                if (k % 50 == i % 50)
                {
                    await ctx.Sleep(TimeSpan.FromMilliseconds(1)); // wakeups preempt lower tasks
                }
                else if (k % 7 == 0)
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
        Assert.Equal(3L * tasks * rounds, counter.Sum());
        Assert.Equal(counter.Sum(), Enumerable.Range(0, 4).Sum(counter.Read));
        Assert.Equal(0, rt.BugCount);
    }

    [Fact]
    public async Task Add_NegativeAndPositiveDeltas_ReadThisCpuAndReadAgree()
    {
        await using var rt = Rt.Start(cpus: 2);
        var counter = new PerCpuCounter(rt);
        var t = rt.Spawn<(long, long, int)>("adder", 10, ctx =>
        {
            counter.Add(ctx, 10);
            counter.Add(ctx, -3);
            counter.Increment(ctx);
            return ValueTask.FromResult((counter.ReadThisCpu(ctx), counter.Read(1), ctx.RawCpuId));
        }, affinity: CpuSet.Of(1));

        Assert.Equal((8L, 8L, 1), await t.WithTimeout());
        Assert.Equal((0L, 8L, 8L), (counter.Read(0), counter.Read(1), counter.Sum()));
        Assert.Equal(0, rt.BugCount);
    }

    [Fact]
    public async Task ThisCpu_ReadModifyWriteFromPreemptibleCodeNotStrict_EveryAccessReported()
    {
        // The __this_cpu_* loop of scenario 34: flagged once per access, and the runtime keeps running.
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.StrictChecks = false;
        });
        var slots = new PerCpu<long>(rt);
        var reports = new ConcurrentQueue<BugReport>();
        rt.BugReported += reports.Enqueue;
        var all = Enumerable.Range(0, 4).Select(i => rt.Spawn("rmw" + i, 10, async ctx =>
        {
            for (int k = 0; k < 25; k++)
            {
                slots.ThisCpu(ctx)++;
                await ctx.PreemptionPoint();
            }
        })).ToList();

        await all.AllWithTimeout();
        Assert.Equal(100, reports.Count);
        Assert.All(reports, r => Assert.Equal(BugKind.ThisCpuInPreemptible, r.Kind));
        Assert.Equal(100, rt.BugCount);
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task ThisCpu_ReadModifyWriteFromPreemptibleCodeStrict_ThrowsIntoTaskWhichFaults()
    {
        await using var rt = Rt.Start(cpus: 2);
        var slots = new PerCpu<long>(rt);
        var counter = new PerCpuCounter(rt);
        var t = rt.Spawn("rmw", 10, async ctx =>
        {
            counter.Increment(ctx); // this_cpu_inc: fine
            await ctx.PreemptionPoint();
            slots.ThisCpu(ctx)++; // __this_cpu_inc in preemptible code: BUG, thrown
            counter.Increment(ctx); // never reached
        });

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => t.WithTimeout());
        Assert.StartsWith("BUG: using this-CPU data in preemptible", e.Message, StringComparison.Ordinal);
        Assert.Equal(RtTaskState.Faulted, t.State);
        Assert.Equal(1, counter.Sum());
        Assert.Equal(0, slots.Remote(0) + slots.Remote(1));
        await rt.AssertStillRunsTasks();
    }
}
