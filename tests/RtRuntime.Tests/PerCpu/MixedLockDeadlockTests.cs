using System.Collections.Concurrent;
using RtRuntime.Cpus;
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

    [Fact]
    public async Task TwoWaitsClosingACycleAtOnceOnTwoCpus_OneIsRefusedInEveryRound()
    {
        // The cycle T3 -> cpu0's ll (held by T1) -> T1 waits for m2 (held by T2) -> T2 waits for m1
        // (held by T3) is closed by two waits at once: T3's for the local lock on cpu0 and T2's for m1
        // on cpu1, released together from a barrier, T2's a little later each round (a sweep over the
        // window between them). Exactly one of the two must be refused: when each walk missed the
        // other's link (a local lock's walk made before its wait was listed), both slept forever.
        const int Rounds = 200;
        await using var rt = Rt.Start(cpus: 2);
        var ll = new LocalLock(rt, "ll");
        var m1 = new RtMutex(rt, "m1");
        var m2 = new RtMutex(rt, "m2");
        int refusedT2 = 0, refusedT3 = 0;
        for (int round = 0; round < Rounds; round++)
        {
            int arrived = 0;
            bool m2Held = false;
            int delay = round % 40 * 8;
            var t2 = rt.Spawn("T2", 15, async ctx =>
            {
                using (await m2.LockAsync(ctx))
                {
                    Volatile.Write(ref m2Held, true);
                    await ctx.SpinUntil(() => Volatile.Read(ref arrived) == 1, "T3 at the barrier");
                    Interlocked.Increment(ref arrived);
                    Thread.SpinWait(delay);
                    try
                    {
                        using (await m1.LockAsync(ctx))
                        {
                        }
                    }
                    catch (InvalidOperationException e) when (e.Message.Contains("circular locking deadlock", StringComparison.Ordinal))
                    {
                        Interlocked.Increment(ref refusedT2);
                    }
                }
            }, affinity: CpuSet.Of(1));
            await Rt.Until(() => Volatile.Read(ref m2Held), "T2 holds m2");
            var t1 = rt.Spawn("T1", 10, async ctx =>
            {
                using (await ll.LockAsync(ctx))
                using (await m2.LockAsync(ctx))
                {
                }
            }, affinity: CpuSet.Of(0));
            await Rt.Until(() => t1.State == RtTaskState.Blocked, "T1 holds ll and waits for m2");
            var t3 = rt.Spawn("T3", 20, async ctx =>
            {
                using (await m1.LockAsync(ctx))
                {
                    Interlocked.Increment(ref arrived);
                    ctx.SpinWithoutPointsUntil(() => Volatile.Read(ref arrived) == 2, "T2 at the barrier");
                    try
                    {
                        using (await ll.LockAsync(ctx))
                        {
                        }
                    }
                    catch (InvalidOperationException e) when (e.Message.Contains("circular locking deadlock", StringComparison.Ordinal))
                    {
                        Interlocked.Increment(ref refusedT3);
                    }
                }
            }, affinity: CpuSet.Of(0));
            await Task.WhenAll(t1.WithTimeout(), t2.WithTimeout(), t3.WithTimeout());
            Assert.Equal(round + 1, refusedT2 + refusedT3);
        }

        Assert.Equal(Rounds, rt.BugCount);
        Assert.Equal(((RtTask?)null, (RtTask?)null, (RtTask?)null), (ll.OwnerOn(0), m1.Owner, m2.Owner));
        Assert.Equal(0, rt.NrPinned(0));
        await rt.AssertStillRunsTasks();
    }
}
