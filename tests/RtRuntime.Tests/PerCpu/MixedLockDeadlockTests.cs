using System.Collections.Concurrent;
using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.PerCpu;

/// <summary>
/// Deadlock detection across both kinds of priority-inheritance lock (rt_mutex's chain walk sees
/// every rt_mutex, and PREEMPT_RT's local locks are rt_mutexes): a cycle through a local lock and an
/// <see cref="RtMutex"/> is refused at once with "circular locking deadlock detected", whichever
/// kind of lock closes it, and both tasks finish.
/// </summary>
public class MixedLockDeadlockTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ACycleThroughALocalLockAndAnRtMutex_IsRefusedAndBothTasksFinish(bool localLockFirst)
    {
        // T1 (10) takes its first lock; T2 (20, same CPU) preempts it, takes the other and waits for
        // T1's (boosting T1); T1 then asks for T2's lock, which would close the cycle.
        await using var rt = Rt.Start(cpus: 1);
        var reports = new ConcurrentQueue<BugReport>();
        rt.BugReported += reports.Enqueue;
        var ll = new LocalLock(rt, "ll");
        var m = new RtMutex(rt, "m");
        async ValueTask<IDisposable> First(TaskContext ctx) => localLockFirst ? await ll.LockAsync(ctx) : await m.LockAsync(ctx);
        async ValueTask<IDisposable> Second(TaskContext ctx) => localLockFirst ? await m.LockAsync(ctx) : await ll.LockAsync(ctx);
        RtTask? t2 = null;
        var t1 = rt.Spawn<(string, int)>("T1", 10, async ctx =>
        {
            using (await First(ctx))
            {
                t2 = rt.Spawn("T2", 20, async ctx2 =>
                {
                    using (await Second(ctx2))
                    using (await First(ctx2))
                    {
                    }
                });
                await ctx.PreemptionPoint(); // T2 runs: takes the second lock, blocks on the first
                int boosted = ctx.Task.EffectivePriority;
                try
                {
                    using (await Second(ctx))
                    {
                        return ("took it", boosted);
                    }
                }
                catch (InvalidOperationException e)
                {
                    return (e.Message, boosted);
                }
            }
        });

        var (message, boosted) = await t1.WithTimeout();
        await t2!.WithTimeout();
        Assert.Equal(20, boosted);
        string first = localLockFirst ? "cpu0's ll" : "m";
        string second = localLockFirst ? "m" : "cpu0's ll";
        Assert.Contains($"BUG: circular locking deadlock detected: T1/{t1.Id} would wait for {second} held by T2/{t2!.Id}, which waits for {first} held by T1/{t1.Id}", message, StringComparison.Ordinal);
        BugReport report = Assert.Single(reports);
        Assert.Equal((BugKind.Deadlock, "T1"), (report.Kind, report.TaskName));
        Assert.Equal(((RtTask?)null, (RtTask?)null), (ll.OwnerOn(0), m.Owner));
        Assert.Equal(0, rt.NrPinned(0));
        await rt.AssertStillRunsTasks();
    }
}
