using System.Collections.Concurrent;
using RtRuntime.Cpus;
using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Hotplug;

/// <summary>
/// Per-CPU data and the per-CPU pool while the test thread takes CPUs offline and online over and
/// over (4 runtime CPUs on fewer cores): sums stay exact, objects are never lost or duplicated, every
/// task completes.
/// </summary>
public class HotplugChurnTests
{
    private sealed class Slot(int cpu)
    {
        public int Cpu { get; } = cpu;

        public long Value;
    }

    private sealed class Item(int id)
    {
        public int Id { get; } = id;
    }

    /// <summary>
    /// Takes CPUs 1..3 offline and online (two at a time, overlapping) until <paramref name="done"/>
    /// and at least <paramref name="minCycles"/> cycles; CPU0 stays up. Checks each offline CPU with
    /// <paramref name="whileOffline"/>. Returns the operations performed.
    /// </summary>
    private static async Task<int> Churn(RtScheduler rt, Func<bool> done, int minCycles, Action<int>? whileOffline = null)
    {
        int ops = 0;
        for (int cycle = 0; cycle < minCycles || !done(); cycle++)
        {
            int a = 1 + (cycle % 3);
            int b = 1 + ((cycle + 1) % 3);
            await rt.OfflineAsync(a).WithTimeout();
            Assert.False(rt.IsOnline(a));
            whileOffline?.Invoke(a);
            await rt.OfflineAsync(b).WithTimeout();
            whileOffline?.Invoke(b);
            await rt.OnlineAsync(a).WithTimeout();
            await rt.OnlineAsync(b).WithTimeout();
            ops += 4;
        }

        return ops;
    }

    [Fact]
    public async Task ThisCpu_IncrementsInsideMigrateDisableWhileCpusGoOfflineAndOnline_SumsExactAllTasksComplete()
    {
        const int tasks = 16, rounds = 300;
        await using var rt = Rt.Start(cpus: 4);
        var slots = new PerCpu<Slot>(rt, cpu => new Slot(cpu));
        var counter = new PerCpuCounter(rt);
        var perTask = new long[tasks][];
        var all = Enumerable.Range(0, tasks).Select(i => rt.Spawn("inc" + i, 10 + (i % 8) * 10, async ctx =>
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
                    if (k % 20 == i % 20)
                    {
                        await ctx.Sleep(TimeSpan.FromMilliseconds(1)); // asleep while pinned: the offline waits for it
                    }

                    Assert.Equal(cpu, ctx.CpuId);
                    Assert.Same(slot, slots.ThisCpu(ctx));
                    slot.Value++;
                    counts[cpu] += 2;
                }

                counter.Increment(ctx);
                await ctx.PreemptionPoint();
            }
        }, affinity: i % 4 == 3 ? CpuSet.Of(3) : null)).ToList(); // some lose their only CPU and get all CPUs

        int ops = await Churn(rt, () => all.All(t => t.IsCompleted), minCycles: 5);
        await all.AllWithTimeout();
        Assert.All(all, t => Assert.Equal(RtTaskState.Completed, t.State));
        for (int cpu = 0; cpu < 4; cpu++)
        {
            Assert.Equal(perTask.Sum(c => c[cpu]), slots.Remote(cpu).Value);
            Assert.Equal(0, rt.NrPinned(cpu));
            Assert.True(rt.IsOnline(cpu));
        }

        Assert.Equal(2L * tasks * rounds, Enumerable.Range(0, 4).Sum(c => slots.Remote(c).Value));
        Assert.Equal((long)tasks * rounds, counter.Sum());
        Assert.Equal(ops, rt.HotplugOperations);
        Assert.Equal(0, rt.BugCount);
    }

    [Fact]
    public async Task PerCpuPool_RentReturnWhileCpusGoOfflineAndOnline_NeverLosesOrDuplicatesAnObject()
    {
        const int tasks = 12, rounds = 150;
        await using var rt = Rt.Start(cpus: 4);
        int nextId = 0;
        using var pool = new PerCpuPool<Item>(rt, () => new Item(Interlocked.Increment(ref nextId)), cacheCapacity: 6, batch: 2);
        var rented = new ConcurrentDictionary<Item, string>();
        var seen = new ConcurrentDictionary<Item, byte>();
        var all = Enumerable.Range(0, tasks).Select(i => rt.Spawn("user" + i, 10 + (i % 4) * 20, async ctx =>
        {
            var mine = new List<Item>();
            for (int k = 0; k < rounds; k++)
            {
                for (int n = 0; n < 1 + (k + i) % 6; n++)
                {
                    Item item = await pool.RentAsync(ctx);
                    Assert.True(rented.TryAdd(item, ctx.Task.Name), $"object {item.Id} rented twice");
                    seen.TryAdd(item, 0);
                    mine.Add(item);
                    await ctx.PreemptionPoint(); // may move to another CPU between rents
                }

                foreach (Item item in mine)
                {
                    Assert.True(rented.TryRemove(item, out _));
                    await pool.ReturnAsync(ctx, item); // returned to whichever CPU the task is on now
                    await ctx.PreemptionPoint();
                }

                mine.Clear();
                if (k % 25 == i % 25)
                {
                    await ctx.Sleep(TimeSpan.FromMilliseconds(1));
                }
            }
        })).ToList();

        int ops = await Churn(rt, () => all.All(t => t.IsCompleted), minCycles: 5,
            whileOffline: cpu => Assert.Equal(0, pool.CachedOn(cpu))); // drained, and nothing runs there to refill it
        await all.AllWithTimeout();
        Assert.All(all, t => Assert.Equal(RtTaskState.Completed, t.State));
        Assert.Empty(rented);
        Assert.Equal(pool.Created, seen.Count);
        Assert.Equal(pool.Created, pool.GlobalCount + Enumerable.Range(0, 4).Sum(pool.CachedOn));
        Assert.Equal(ops, rt.HotplugOperations);
    }
}
