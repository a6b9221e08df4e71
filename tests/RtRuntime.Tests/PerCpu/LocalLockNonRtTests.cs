using RtRuntime.Cpus;
using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.PerCpu;

/// <summary>Scenario 35: local_lock under the NonRt model is preempt_disable().</summary>
public class LocalLockNonRtTests
{
    [Fact]
    public async Task LockAsync_HigherTaskWakesOnCpu_WaitsForUnlockThenRunsAtNextPreemptionPoint()
    {
        await using var rt = Rt.Start(cpus: 2, model: PreemptionModel.NonRt);
        var ll = new LocalLock(rt, "ll");
        var log = new EventLog();
        RtTask? h = null;
        var t = rt.Spawn("T", 10, async ctx =>
        {
            using (await ll.LockAsync(ctx))
            {
                log.Add($"T:locked depth {ctx.PreemptDepth} owner {ll.OwnerOn(0)?.Name}");
                h = rt.Spawn("H", 50, _ =>
                {
                    log.Add($"H:run owner {ll.OwnerOn(0)?.Name ?? "none"}");
                    return ValueTask.CompletedTask;
                }, affinity: CpuSet.Of(0));
                for (int i = 0; i < 3; i++)
                {
                    await ctx.PreemptionPoint(); // preempt-disabled: never switches
                    log.Add($"T:point {i} H {h.State}");
                }
            }

            log.Add($"T:unlocked depth {ctx.PreemptDepth}");
            await ctx.PreemptionPoint(); // the switch to H happens here
            log.Add("T:after");
        }, affinity: CpuSet.Of(0));

        await t.WithTimeout();
        await h!.WithTimeout();
        Assert.Equal(
            [
                "T:locked depth 1 owner T",
                "T:point 0 H Runnable",
                "T:point 1 H Runnable",
                "T:point 2 H Runnable",
                "T:unlocked depth 0",
                "H:run owner none",
                "T:after",
            ],
            log.Snapshot());
        Assert.Equal(0, rt.BugCount);
    }

    [Fact]
    public async Task LockAsync_TwoCpus_EachCpusInstanceHeldAtOnce()
    {
        await using var rt = Rt.Start(cpus: 2, model: PreemptionModel.NonRt);
        var ll = new LocalLock(rt, "ll");
        int held = 0, seen = 0;
        RtTask Holder(int cpu) => rt.Spawn<(string?, string?)>("holder" + cpu, 10, async ctx =>
        {
            using (await ll.LockAsync(ctx))
            {
                Interlocked.Increment(ref held);
                await ctx.SpinUntil(() => Volatile.Read(ref held) == 2, "both CPUs hold their lock");
                var owners = (ll.OwnerOn(0)?.Name, ll.OwnerOn(1)?.Name);
                Interlocked.Increment(ref seen);
                await ctx.SpinUntil(() => Volatile.Read(ref seen) == 2, "both looked"); // neither unlocks before the other looked
                return owners;
            }
        }, affinity: CpuSet.Of(cpu));

        var a = (RtTask<(string?, string?)>)Holder(0);
        var b = (RtTask<(string?, string?)>)Holder(1);
        Assert.Equal(("holder0", "holder1"), await a.WithTimeout());
        Assert.Equal(("holder0", "holder1"), await b.WithTimeout());
        Assert.Null(ll.OwnerOn(0));
        Assert.Null(ll.OwnerOn(1));
    }

    [Fact]
    public async Task LockAsync_Recursive_ThrowsAndKeepsTheOuterLock()
    {
        await using var rt = Rt.Start(cpus: 1, model: PreemptionModel.NonRt);
        var ll = new LocalLock(rt, "pcp lock");
        var t = rt.Spawn<(string, int, int, string?)>("T", 10, async ctx =>
        {
            string message;
            int depthAfterFailure;
            using (await ll.LockAsync(ctx))
            {
                message = Assert.Throws<InvalidOperationException>(() => ll.LockAsync(ctx)).Message;
                depthAfterFailure = ctx.PreemptDepth;
            }

            return (message, depthAfterFailure, ctx.PreemptDepth, ll.OwnerOn(0)?.Name);
        });

        var (message, inside, after, owner) = await t.WithTimeout();
        Assert.Contains("already holds cpu0's pcp lock", message, StringComparison.Ordinal);
        Assert.Equal((1, 0, (string?)null), (inside, after, owner));
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task LockAsync_HolderSuspendedWhileAtomic_OtherTaskIsRefusedAndHolderStillUnlocks()
    {
        // A holds the NonRt lock and awaits a foreign task: "scheduling while atomic" resets its preempt
        // count, so B can run on the CPU. B must not get, or release, A's lock (the holder is kept by id).
        // A's unlock then releases it without lowering the depth the report already reset.
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.Model = PreemptionModel.NonRt;
            o.StrictChecks = false; // the BUG is reported, not thrown into A
        });
        var ll = new LocalLock(rt, "pcp lock");
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var a = rt.Spawn<(string?, int, bool)>("A", 10, async ctx =>
        {
            string? owner;
            using (await ll.LockAsync(ctx))
            {
                await release.Task; // foreign suspension while preempt-disabled
                owner = ll.OwnerOn(0)?.Name;
            }

            int depthAfterUnlock = ctx.PreemptDepth;
            bool relocked = ll.TryLock(ctx, out LocalLockGuard again);
            again.Dispose();
            return (owner, depthAfterUnlock, relocked);
        });
        await Rt.Until(() => a.State == Tasks.RtTaskState.Blocked, "A suspended holding the lock");
        var b = rt.Spawn<string>("B", 10, ctx =>
            ValueTask.FromResult(Assert.Throws<InvalidOperationException>(() => ll.LockAsync(ctx)).Message));

        string refused = await b.WithTimeout();
        release.SetResult();
        var (ownerSeenByA, depthAfterUnlock, relocked) = await a.WithTimeout();
        Assert.Contains($"Task {a.Id} still holds cpu0's pcp lock", refused, StringComparison.Ordinal);
        Assert.Equal(("A", 0, true), (ownerSeenByA, depthAfterUnlock, relocked));
        Assert.Null(ll.OwnerOn(0));
        Assert.Equal(1, rt.BugCount);
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task TryLock_FreeThenHeldBySelf_TakesOnceAndThrowsOnRecursionWithNothingMoreDisabled()
    {
        // A recursive TryLock throws as LockAsync does (and as RtMutex.TryLock does): a false would read
        // as contention. Before, it returned false. The outer hold and its one preempt-disable stay.
        await using var rt = Rt.Start(cpus: 1, model: PreemptionModel.NonRt);
        var ll = new LocalLock(rt, "pcp lock");
        var t = rt.Spawn<(bool, int, string, int, int, bool)>("T", 10, ctx =>
        {
            bool first = ll.TryLock(ctx, out LocalLockGuard guard);
            int depthHeld = ctx.PreemptDepth;
            string message = Assert.Throws<InvalidOperationException>(() => ll.TryLock(ctx, out _)).Message;
            int depthAfterRefusal = ctx.PreemptDepth;
            guard.Dispose();
            bool afterUnlock = ll.TryLock(ctx, out LocalLockGuard second);
            second.Dispose();
            return ValueTask.FromResult((first, depthHeld, message, depthAfterRefusal, ctx.PreemptDepth, afterUnlock));
        });

        var (first, depthHeld, message, depthAfterRefusal, depthAfter, afterUnlock) = await t.WithTimeout();
        Assert.Equal((true, 1, 1, 0, true), (first, depthHeld, depthAfterRefusal, depthAfter, afterUnlock));
        Assert.Contains($"Task 'T' (id {t.Id}) already holds cpu0's pcp lock", message, StringComparison.Ordinal);
        Assert.Contains("(LockAsync, TryLock)", message, StringComparison.Ordinal);
        Assert.Contains("unlock it first", message, StringComparison.Ordinal);
        Assert.Null(ll.OwnerOn(0));
        Assert.Equal(0, rt.BugCount);
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task Guard_DisposedAfterItsTaskExitedHoldingTheLock_ThrowsAndTheRuntimeGoesOn()
    {
        // A exits holding the lock (its depth is reset at exit, as the kernel fixes up a task that exits
        // with a preempt count); B, later on the same CPU, disposes A's guard: only the owner may unlock.
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.Model = PreemptionModel.NonRt;
            o.StrictChecks = false; // the unlock's fast path is the non-strict one
        });
        var ll = new LocalLock(rt, "pcp lock");
        LocalLockGuard leaked = default;
        var a = rt.Spawn("A", 10, ctx =>
        {
            Assert.True(ll.TryLock(ctx, out leaked));
            return ValueTask.CompletedTask;
        });
        await a.WithTimeout();
        var b = rt.Spawn<(string, int)>("B", 10, ctx =>
            ValueTask.FromResult((Assert.Throws<InvalidOperationException>(() => leaked.Dispose()).Message, ctx.PreemptDepth)));

        var (message, depthOfB) = await b.WithTimeout();
        Assert.Contains("owned by task 'A'; only the owner may unlock it", message, StringComparison.Ordinal);
        Assert.Equal(0, depthOfB);
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task TaskEndsHoldingTheLock_Released_NextTaskTakesIt()
    {
        await using var rt = StartNonRt(1);
        var ll = new LocalLock(rt, "pcp lock");
        var a = rt.Spawn("A", 10, async ctx => _ = await ll.LockAsync(ctx)); // never disposed
        await a.WithTimeout();
        Assert.Equal("B", await LockAndNameOwner(rt, ll, "B", CpuSet.Of(0)).WithTimeout());
        Assert.Equal(1, rt.BugCount);
    }

    [Fact]
    public async Task HolderResumesOnAnotherCpuAfterSchedulingWhileAtomic_ItsUnlockFails_TheLockIsReleasedWhenItEnds()
    {
        await using var rt = StartNonRt(2);
        var ll = new LocalLock(rt, "pcp lock");
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var a = rt.Spawn("A", 10, async ctx =>
        {
            var guard = await ll.LockAsync(ctx);
            await release.Task; // foreign suspension while preempt-disabled: BUG, depth reset
            guard.Dispose();    // throws if A came back on the other CPU
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => a.State == RtTaskState.Blocked, "A suspended holding cpu0's lock");
        await rt.SetAffinityAsync(a, CpuSet.Of(1)).WithTimeout(); // it resumes on cpu1
        release.SetResult();
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => a.WithTimeout());
        Assert.Contains("tried to unlock cpu0's pcp lock", e.Message, StringComparison.Ordinal);

        Assert.Equal("C", await LockAndNameOwner(rt, ll, "C", CpuSet.Of(0)).WithTimeout());
        Assert.Equal(2, rt.BugCount); // scheduling while atomic, then the lock held at exit
    }

    /// <summary>A task on cpu0 that takes <paramref name="ll"/> and returns the owner it sees there.</summary>
    private static RtTask<string?> LockAndNameOwner(RtScheduler rt, LocalLock ll, string name, CpuSet affinity) =>
        rt.Spawn<string?>(name, 10, async ctx =>
        {
            using (await ll.LockAsync(ctx))
            {
                return ll.OwnerOn(0)?.Name;
            }
        }, affinity: affinity);

    private static RtScheduler StartNonRt(int cpus) => Rt.Start(o =>
    {
        o.CpuCount = cpus;
        o.Model = PreemptionModel.NonRt;
    });
}
