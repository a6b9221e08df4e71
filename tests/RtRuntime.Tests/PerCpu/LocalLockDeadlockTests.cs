using System.Collections.Concurrent;
using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.PerCpu;

/// <summary>
/// The rt_mutex chain walk's deadlock detection for Rt-model local locks: a task that would wait for a
/// lock whose holder waits, directly or through other local locks, for a lock the task holds is
/// refused at once with the BUG "circular locking deadlock detected", instead of sleeping forever with
/// the other task. Nothing is taken, so the task can back off and both finish.
/// </summary>
public class LocalLockDeadlockTests
{
    [Fact]
    public async Task AbbaOnOneCpu_SecondTakerIsRefusedWithTheChainAndBothTasksFinish()
    {
        // T1 holds A; T2 (higher, same CPU) preempts it, takes B and waits for A (boosting T1); T1 then
        // asks for B: T2 holds it and waits for A, which T1 holds. Before: both slept forever.
        await using var rt = Rt.Start(cpus: 1);
        var reports = new ConcurrentQueue<BugReport>();
        rt.BugReported += reports.Enqueue;
        var a = new LocalLock(rt, "A");
        var b = new LocalLock(rt, "B");
        RtTask? t2 = null;
        var t1 = rt.Spawn<(string, int, int)>("T1", 10, async ctx =>
        {
            using (await a.LockAsync(ctx))
            {
                t2 = rt.Spawn("T2", 20, async ctx2 =>
                {
                    using (await b.LockAsync(ctx2))
                    using (await a.LockAsync(ctx2))
                    {
                    }
                });
                await ctx.PreemptionPoint(); // T2 runs: takes B, blocks on A
                int boosted = ctx.Task.EffectivePriority;
                try
                {
                    using (await b.LockAsync(ctx))
                    {
                        return ("took B", boosted, ctx.MigrateDisableDepth);
                    }
                }
                catch (InvalidOperationException e)
                {
                    return (e.Message, boosted, ctx.MigrateDisableDepth); // still holds A only
                }
            }
        });

        var (message, boosted, depth) = await t1.WithTimeout();
        await t2!.WithTimeout();
        Assert.Equal(20, boosted);
        Assert.Equal(1, depth);
        Assert.Contains("BUG: circular locking deadlock detected: T1/", message, StringComparison.Ordinal);
        Assert.Contains("would wait for cpu0's B held by T2/", message, StringComparison.Ordinal);
        Assert.Contains(", which waits for cpu0's A held by T1/", message, StringComparison.Ordinal);
        BugReport report = Assert.Single(reports);
        Assert.Equal((BugKind.Deadlock, "T1"), (report.Kind, report.TaskName));
        Assert.Equal(((RtTask?)null, (RtTask?)null), (a.OwnerOn(0), b.OwnerOn(0)));
        Assert.Equal(0, rt.NrPinned(0));
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task ThreeLockCycle_IsFoundThroughTheWholeChain()
    {
        // T1 holds A, T2 holds B and waits for A, T3 holds C and waits for B; T1 asking for C closes the cycle.
        await using var rt = Rt.Start(cpus: 1);
        var a = new LocalLock(rt, "A");
        var b = new LocalLock(rt, "B");
        var c = new LocalLock(rt, "C");
        RtTask? t2 = null, t3 = null;
        var t1 = rt.Spawn<string>("T1", 10, async ctx =>
        {
            using (await a.LockAsync(ctx))
            {
                t2 = rt.Spawn("T2", 20, async ctx2 =>
                {
                    using (await b.LockAsync(ctx2))
                    {
                        t3 = rt.Spawn("T3", 30, async ctx3 =>
                        {
                            using (await c.LockAsync(ctx3))
                            using (await b.LockAsync(ctx3))
                            {
                            }
                        });
                        await ctx2.PreemptionPoint(); // T3 runs: takes C, blocks on B
                        using (await a.LockAsync(ctx2))
                        {
                        }
                    }
                });
                await ctx.PreemptionPoint(); // T2 runs, then T3; T2 blocks on A
                try
                {
                    using (await c.LockAsync(ctx))
                    {
                        return "took C";
                    }
                }
                catch (InvalidOperationException e)
                {
                    return e.Message;
                }
            }
        });

        string message = await t1.WithTimeout();
        await t2!.WithTimeout();
        await t3!.WithTimeout();
        Assert.Contains("would wait for cpu0's C held by T3/", message, StringComparison.Ordinal);
        Assert.Contains("which waits for cpu0's B held by T2/", message, StringComparison.Ordinal);
        Assert.Contains("which waits for cpu0's A held by T1/", message, StringComparison.Ordinal);
        Assert.Equal(1, rt.BugCount);
        Assert.Equal(0, rt.NrPinned(0));
        await rt.AssertStillRunsTasks();
    }
}
