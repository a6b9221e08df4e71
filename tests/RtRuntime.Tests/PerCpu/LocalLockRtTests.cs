using RtRuntime.Cpus;
using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.PerCpu;

/// <summary>
/// Scenario 36: local_lock under the Rt model is migrate_disable() plus this CPU's sleeping lock with
/// priority inheritance; each CPU's instance is independent; misuse is an error that leaves the
/// runtime running.
/// </summary>
public class LocalLockRtTests
{
    [Fact]
    public async Task LockAsync_HigherTaskWantsHeldLock_PreemptsBlocksBoostsOwnerUntilUnlock()
    {
        // T may start on either CPU (c); H targets c, X the other CPU (o), which idles while T waits
        // preempted: T, holding c's lock, must not move there.
        await using var rt = Rt.Start(cpus: 2);
        var ll = new LocalLock(rt, "ll");
        var log = new EventLog();
        RtTask? h = null;
        RtTask<string>? x = null;
        var t = rt.Spawn<int>("T", 10, async ctx =>
        {
            int c;
            using (await ll.LockAsync(ctx))
            {
                c = ctx.CpuId;
                long migrations = ctx.Task.Migrations;
                log.Add($"T:locked md {ctx.MigrateDisableDepth} pd {ctx.PreemptDepth}");
                h = rt.Spawn("H", 50, async hctx =>
                {
                    log.Add("H:run, wants lock");
                    using (await ll.LockAsync(hctx))
                    {
                        log.Add($"H:got lock, T prio {ctx.Task.EffectivePriority}");
                    }
                }, affinity: CpuSet.Of(c));
                await ctx.PreemptionPoint(); // H preempts T, blocks on the lock, boosts T
                log.Add($"T:resumed same cpu {ctx.CpuId == c} prio {ctx.Task.EffectivePriority} H {h.State} nr_pinned {rt.NrPinned(c)}");

                // The other CPU's instance is independent: taken at once while c's is held and contended.
                x = rt.Spawn<string>("X", 20, async xctx =>
                {
                    using (await ll.LockAsync(xctx))
                    {
                        return $"X:got its lock at once, owners {ll.OwnerOn(c)?.Name}/{ll.OwnerOn(1 - c)?.Name}";
                    }
                }, affinity: CpuSet.Of(1 - c));
                await ctx.SpinUntil(() => x.IsCompleted, "X done");
                log.Add($"T:unlocking same cpu {ctx.CpuId == c} prio {ctx.Task.EffectivePriority} moved {ctx.Task.Migrations - migrations}");
            }

            log.Add($"T:unlocked prio {ctx.Task.EffectivePriority} owner {ll.OwnerOn(c)?.Name}");
            await ctx.PreemptionPoint(); // H, handed the lock, outranks T again (T may now be pushed to the idle CPU)
            log.Add("T:after");
            return c;
        });

        int c = await t.WithTimeout();
        await h!.WithTimeout();
        Assert.Equal("X:got its lock at once, owners T/X", await x!.WithTimeout());
        Assert.Equal(1 - c, x!.CurrentCpu);
        string[] events = log.Snapshot();
        Assert.Equal(
            [
                "T:locked md 1 pd 0",
                "H:run, wants lock",
                "T:resumed same cpu True prio 50 H Blocked nr_pinned 2",
                "T:unlocking same cpu True prio 50 moved 0",
                "T:unlocked prio 10 owner H",
            ],
            events[..5]);

        // After the unlock T is an ordinary preempted task: it may wait for H or be pushed to the idle
        // CPU and run alongside H, so the last two events come in either order.
        Assert.Equal(["H:got lock, T prio 10", "T:after"], events[5..].Order(StringComparer.Ordinal).ToArray());
        Assert.Equal(0, rt.NrPinned(0) + rt.NrPinned(1));
        Assert.Null(ll.OwnerOn(0));
        Assert.Null(ll.OwnerOn(1));
        Assert.Equal(0, rt.BugCount);
    }

    [Fact]
    public async Task TryLock_Recursive_ThrowsAndKeepsTheOuterLock()
    {
        // Taken by LockAsync or by TryLock, a held instance refuses its holder's TryLock with the
        // recursion error (as RtMutex.TryLock does), pinning nothing more. Before, it returned false.
        await using var rt = Rt.Start(cpus: 1);
        var ll = new LocalLock(rt, "pcp lock");
        var t = rt.Spawn<(string, string, int, int, int, string?)>("T", 10, async ctx =>
        {
            string afterLockAsync, afterTryLock;
            int depthAfterFailure, pinnedAfterFailure;
            using (await ll.LockAsync(ctx))
            {
                afterLockAsync = Assert.Throws<InvalidOperationException>(() => ll.TryLock(ctx, out _)).Message;
            }

            Assert.True(ll.TryLock(ctx, out LocalLockGuard guard));
            using (guard)
            {
                afterTryLock = Assert.Throws<InvalidOperationException>(() => ll.TryLock(ctx, out _)).Message;
                depthAfterFailure = ctx.MigrateDisableDepth;
                pinnedAfterFailure = rt.NrPinned(0);
            }

            return (afterLockAsync, afterTryLock, depthAfterFailure, pinnedAfterFailure, ctx.MigrateDisableDepth, ll.OwnerOn(0)?.Name);
        });

        var (afterLockAsync, afterTryLock, depth, pinned, after, owner) = await t.WithTimeout();
        foreach (string message in new[] { afterLockAsync, afterTryLock })
        {
            Assert.Contains($"Task 'T' (id {t.Id}) already holds cpu0's pcp lock", message, StringComparison.Ordinal);
            Assert.Contains("(LockAsync, TryLock)", message, StringComparison.Ordinal);
        }

        Assert.Equal((1, 1, 0, (string?)null), (depth, pinned, after, owner));
        Assert.Equal(0, rt.NrPinned(0));
        Assert.Equal(0, rt.BugCount);
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task LockAsync_Recursive_ThrowsAndKeepsTheOuterLock()
    {
        await using var rt = Rt.Start(cpus: 1);
        var ll = new LocalLock(rt, "pcp lock");
        var t = rt.Spawn<(string, int, int, int, string?)>("T", 10, async ctx =>
        {
            string message;
            int depthAfterFailure, pinnedAfterFailure;
            using (await ll.LockAsync(ctx))
            {
                message = Assert.Throws<InvalidOperationException>(() => ll.LockAsync(ctx)).Message;
                depthAfterFailure = ctx.MigrateDisableDepth;
                pinnedAfterFailure = rt.NrPinned(0);
            }

            return (message, depthAfterFailure, pinnedAfterFailure, ctx.MigrateDisableDepth, ll.OwnerOn(0)?.Name);
        });

        var (message, depth, pinned, after, owner) = await t.WithTimeout();
        Assert.Contains("already holds cpu0's pcp lock", message, StringComparison.Ordinal);
        Assert.Equal((1, 1, 0, (string?)null), (depth, pinned, after, owner));
        Assert.Equal(0, rt.NrPinned(0));
        await rt.AssertStillRunsTasks();
    }

    [Theory]
    [InlineData(0)] // the non-owner runs on the lock's CPU
    [InlineData(1)] // the non-owner runs on the other CPU
    public async Task Dispose_ByTaskThatIsNotTheOwner_ThrowsAndOwnerStillHoldsAndUnlocks(int otherCpu)
    {
        await using var rt = Rt.Start(cpus: 2);
        var ll = new LocalLock(rt, "ll");
        LocalLockGuard stolen = default;
        var t = rt.Spawn<(string, string?, string?)>("T", 10, async ctx =>
        {
            string message;
            string? ownerAfterAttempt;
            using (LocalLockGuard g = await ll.LockAsync(ctx))
            {
                stolen = g;
                var thief = rt.Spawn<string>("thief", 50, _ =>
                    ValueTask.FromResult(Assert.Throws<InvalidOperationException>(() => stolen.Dispose()).Message),
                    affinity: CpuSet.Of(otherCpu));
                await ctx.SpinUntil(() => thief.IsCompleted, "thief done");
                message = await thief;
                ownerAfterAttempt = ll.OwnerOn(0)?.Name;
            }

            return (message, ownerAfterAttempt, ll.OwnerOn(0)?.Name);
        }, affinity: CpuSet.Of(0));

        var (message, ownerAfterAttempt, ownerAfterUnlock) = await t.WithTimeout();
        Assert.Contains("is owned by task 'T'; only the owner may unlock it", message, StringComparison.Ordinal);
        Assert.Equal(("T", (string?)null), (ownerAfterAttempt, ownerAfterUnlock));
        Assert.Equal(0, rt.NrPinned(0) + rt.NrPinned(1));
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task Dispose_OwnerOnAnotherCpuThanTheLock_ThrowsAndLeavesThisCpusLockHeld()
    {
        // T locks and unlocks cpu0's instance (guard g0), moves to cpu1, locks cpu1's, then disposes g0
        // again: that is an unlock of cpu0's lock from cpu1, refused without touching cpu1's lock.
        await using var rt = Rt.Start(cpus: 2);
        var ll = new LocalLock(rt, "ll");
        var t = rt.Spawn<(int, int, string, string?, int, string?, int)>("T", 10, async ctx =>
        {
            LocalLockGuard g0 = await ll.LockAsync(ctx);
            int first = ctx.CpuId;
            g0.Dispose();
            _ = rt.SetAffinityAsync(ctx.Task, CpuSet.Of(1 - first));
            await ctx.PreemptionPoint(); // the stopper moves T here
            string message;
            string? ownerOfThisCpu;
            int depth;
            using (await ll.LockAsync(ctx))
            {
                message = Assert.Throws<InvalidOperationException>(() => g0.Dispose()).Message;
                ownerOfThisCpu = ll.OwnerOn(1 - first)?.Name;
                depth = ctx.MigrateDisableDepth;
            }

            return (first, ctx.RawCpuId, message, ownerOfThisCpu, depth, ll.OwnerOn(1 - first)?.Name, ctx.MigrateDisableDepth);
        });

        var (first, second, message, owner, depth, ownerAfter, depthAfter) = await t.WithTimeout();
        Assert.Equal(1 - first, second);
        Assert.Contains($"is on cpu{second} but tried to unlock cpu{first}'s ll", message, StringComparison.Ordinal);
        Assert.Equal(("T", 1, (string?)null, 0), (owner, depth, ownerAfter, depthAfter));
        Assert.Equal(0, rt.NrPinned(0) + rt.NrPinned(1));
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task Dispose_TwiceOrNeverTaken_ThrowsAndLockStaysConsistent()
    {
        await using var rt = Rt.Start(cpus: 1);
        var ll = new LocalLock(rt, "ll");
        var t = rt.Spawn<(string, string, int, string?)>("T", 10, async ctx =>
        {
            LocalLockGuard g = await ll.LockAsync(ctx);
            g.Dispose();
            string twice = Assert.Throws<InvalidOperationException>(() => g.Dispose()).Message;
            string never = Assert.Throws<InvalidOperationException>(() => default(LocalLockGuard).Dispose()).Message;
            return (twice, never, ctx.MigrateDisableDepth, ll.OwnerOn(0)?.Name);
        });

        var (twice, never, depth, owner) = await t.WithTimeout();
        Assert.Contains("does not hold cpu0's ll", twice, StringComparison.Ordinal);
        Assert.Contains("never taken", never, StringComparison.Ordinal);
        Assert.Equal((0, (string?)null), (depth, owner));
        Assert.Equal(0, rt.NrPinned(0));
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task LockAsync_ContextUsedFromTestThread_Throws()
    {
        await using var rt = Rt.Start(cpus: 1);
        var ll = new LocalLock(rt);
        var go = new RtEvent();
        TaskContext captured = default;
        var t = rt.Spawn("sleeper", 10, async ctx =>
        {
            captured = ctx;
            await go.WaitAsync(ctx);
        });
        await Rt.Until(() => t.State == RtTaskState.Blocked, "sleeper blocked");

        Assert.Throws<InvalidOperationException>(() => ll.LockAsync(captured));
        go.Set();
        await t.WithTimeout();
        Assert.Null(ll.OwnerOn(0));
        Assert.Equal("local_lock", ll.Name);
    }

    [Fact]
    public async Task TryLock_HeldByPreemptedTask_HigherTaskGetsFalseAtOnceWithoutBoostingOrPinning()
    {
        // T holds cpu0's lock and is preempted by H on cpu0; H's try-lock fails at once: H neither
        // blocks nor boosts T, and is left unpinned. After T unlocks, H's try-lock succeeds.
        await using var rt = Rt.Start(cpus: 1);
        var ll = new LocalLock(rt, "ll");
        var log = new EventLog();
        var unlocked = new RtEvent();
        RtTask? h = null;
        var t = rt.Spawn("T", 10, async ctx =>
        {
            using (await ll.LockAsync(ctx))
            {
                h = rt.Spawn("H", 50, async hctx =>
                {
                    bool got = ll.TryLock(hctx, out _);
                    log.Add($"H:try {got} md {hctx.MigrateDisableDepth} T prio {ctx.Task.EffectivePriority} nr_pinned {rt.NrPinned(0)}");
                    await unlocked.WaitAsync(hctx);
                    got = ll.TryLock(hctx, out LocalLockGuard guard);
                    log.Add($"H:try after unlock {got} md {hctx.MigrateDisableDepth} owner {ll.OwnerOn(0)?.Name}");
                    guard.Dispose();
                });
                await ctx.PreemptionPoint(); // H runs here, fails its try-lock, and blocks on the event
                log.Add($"T:resumed prio {ctx.Task.EffectivePriority}");
            }

            unlocked.Set();
        });

        await t.WithTimeout();
        await h!.WithTimeout();
        Assert.Equal(
            [
                "H:try False md 0 T prio 10 nr_pinned 1",
                "T:resumed prio 10",
                "H:try after unlock True md 1 owner H",
            ],
            log.Snapshot());
        Assert.Null(ll.OwnerOn(0));
        Assert.Equal(0, rt.NrPinned(0));
    }

    [Fact]
    public async Task TaskEndsHoldingTheLock_ReleasedToItsWaiter_BugReported_CpuCanGoOffline()
    {
        // lockdep's "lock held when returning to user space": the runtime reports it and releases the
        // lock, so its waiter (pinned while it waits) runs and the CPU can still be vacated.
        await using var rt = Rt.Start(cpus: 2);
        var ll = new LocalLock(rt, "pcp lock");
        var reports = new System.Collections.Concurrent.ConcurrentQueue<BugReport>();
        rt.BugReported += reports.Enqueue;
        var holding = new RtEvent();
        var end = new RtEvent();
        var a = rt.Spawn("A", 10, async ctx =>
        {
            _ = await ll.LockAsync(ctx); // never disposed
            holding.Set();
            await end.WaitAsync(ctx);
        }, affinity: CpuSet.Of(1));
        await Rt.Until(() => holding.IsSet, "A holds the lock");
        var b = rt.Spawn("B", 20, async ctx =>
        {
            using (await ll.LockAsync(ctx))
            {
            }
        }, affinity: CpuSet.Of(1));
        await Rt.Until(() => b.State == RtTaskState.Blocked, "B waits for the lock");

        end.Set();
        await a.WithTimeout();
        await b.WithTimeout();
        BugReport r = Assert.Single(reports);
        Assert.Equal(BugKind.LockHeldAtExit, r.Kind);
        Assert.Equal("BUG: lock held when task exited: A/" + a.Id + " held cpu1's pcp lock (released)", r.Message);
        Assert.Null(ll.OwnerOn(1));
        await rt.OfflineAsync(1).WithTimeout();
    }
}
