using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.PerCpu;

/// <summary>
/// A contended Rt lock's awaitable used wrongly: awaited off the task's CPU thread (after a
/// ConfigureAwait(false)), refused as the wait queues' awaitables refuse it, instead of blocking a task
/// that is not running; or awaited a second time while its first await's lock is still held, refused
/// at once, as a stale sleep or wait awaiter is, instead of queueing the holder as a waiter of its own
/// lock; or awaited again after its wait ended otherwise (released, refused), refused rather than take
/// the lock unpinned. Either way the lock stays usable.
/// </summary>
public class LocalLockAwaitMisuseTests
{
    [Fact]
    public async Task ContendedLockAwaitedAfterConfigureAwaitFalse_ThrowsAndTheLockStaysUsable()
    {
        // Before: the await on the ThreadPool took the lock released meanwhile and left the task
        // suspended with nobody to wake it: T hung holding cpu0's lock, and so did every later taker.
        await using var rt = Rt.Start(cpus: 1);
        var ll = new LocalLock(rt, "ll");
        (RtTask h, RtEvent release) = await SpawnHolderAsync(rt, ll);
        var released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var t = rt.Spawn<string>("T", 20, async ctx =>
        {
            LocalLockAwaitable pending = ll.LockAsync(ctx); // contended: H holds it
            release.Set();
            await released.Task.ConfigureAwait(false); // resumes on the ThreadPool once H has unlocked
            try
            {
                using (await pending)
                {
                    return "took it off its CPU";
                }
            }
            catch (InvalidOperationException e)
            {
                return e.Message;
            }
        });
        await h.WithTimeout();
        Assert.Null(ll.OwnerOn(0));
        released.SetResult();

        string message = await t.WithTimeout();
        Assert.Contains("used off its CPU", message, StringComparison.Ordinal);
        await AssertLockUsableAsync(rt, ll);
    }

    [Fact]
    public async Task ContendedLockAwaitedAgainWhileHeld_ThrowsAndTheLockStaysUsable()
    {
        // Before: the second await queued T as a waiter of the lock it held: a deadlock nothing reported.
        await using var rt = Rt.Start(cpus: 1);
        var ll = new LocalLock(rt, "ll");
        (RtTask h, RtEvent release) = await SpawnHolderAsync(rt, ll);

        var t = rt.Spawn<string>("T", 20, async ctx =>
        {
            LocalLockAwaitable pending = ll.LockAsync(ctx); // contended: H holds it
            release.Set();
            using (await pending) // granted when H unlocks
            {
                try
                {
                    using (await pending)
                    {
                        return "took it twice";
                    }
                }
                catch (InvalidOperationException e)
                {
                    return e.Message;
                }
            }
        });

        string message = await t.WithTimeout();
        await h.WithTimeout();
        Assert.Contains("awaited a second time", message, StringComparison.Ordinal);
        await AssertLockUsableAsync(rt, ll);
    }

    [Fact]
    public async Task AWaitThatTookTheLockAndReleasedIt_AwaitedAgain_ThrowsWithoutTakingItUnpinned()
    {
        // Before: the second await found the lock free and took it with no migrate-disable counted (the
        // first wait's was released with the lock): held while migratable, and the unlock drove the depth to -1.
        await using var rt = Rt.Start(cpus: 1);
        var ll = new LocalLock(rt, "ll");
        (RtTask h, RtEvent release) = await SpawnHolderAsync(rt, ll);

        var t = rt.Spawn<(string, int)>("T", 20, async ctx =>
        {
            LocalLockAwaitable pending = ll.LockAsync(ctx); // contended: H holds it
            release.Set();
            using (await pending)
            {
            }

            try
            {
                using (await pending)
                {
                    return ("took it again", ctx.MigrateDisableDepth);
                }
            }
            catch (InvalidOperationException e)
            {
                return (e.Message, ctx.MigrateDisableDepth);
            }
        });

        var (message, depth) = await t.WithTimeout();
        await h.WithTimeout();
        Assert.Contains("whose wait is over", message, StringComparison.Ordinal);
        Assert.Equal(0, depth);
        await AssertLockUsableAsync(rt, ll);
    }

    [Fact]
    public async Task AWaitRefusedAsADeadlock_AwaitedAgain_ThrowsWithoutTakingItUnpinned()
    {
        // T1 holds A; T2 takes B and waits for A; T1's wait for B is refused (the cycle), and awaited
        // again once T2 is gone (B free): refused as a misuse, its migrate-disable balanced (review
        // helper-92 found the second await taking B with none counted).
        await using var rt = Rt.Start(cpus: 1);
        var a = new LocalLock(rt, "A");
        var b = new LocalLock(rt, "B");
        RtTask? t2 = null;
        var t1 = rt.Spawn<(string First, string Second, int DepthAfter)>("T1", 10, async ctx =>
        {
            LocalLockGuard holdA = await a.LockAsync(ctx);
            t2 = rt.Spawn("T2", 20, async ctx2 =>
            {
                using (await b.LockAsync(ctx2))
                using (await a.LockAsync(ctx2))
                {
                }
            });
            await ctx.PreemptionPoint(); // T2 takes B and waits for A
            LocalLockAwaitable pending = b.LockAsync(ctx);
            string first = await MessageOfAsync(pending);
            holdA.Dispose(); // T2 takes A and ends, releasing both
            string second = await MessageOfAsync(pending);
            return (first, second, ctx.MigrateDisableDepth);
        });

        var (first, second, depthAfter) = await t1.WithTimeout();
        await t2!.WithTimeout();
        Assert.Contains("circular locking deadlock", first, StringComparison.Ordinal);
        Assert.Contains("whose wait is over", second, StringComparison.Ordinal);
        Assert.Equal(0, depthAfter);
        Assert.Equal(((RtTask?)null, (RtTask?)null), (a.OwnerOn(0), b.OwnerOn(0)));
        Assert.Equal(0, rt.NrPinned(0));
    }

    private static async Task<string> MessageOfAsync(LocalLockAwaitable pending)
    {
        try
        {
            using (await pending)
            {
                return "took it";
            }
        }
        catch (InvalidOperationException e)
        {
            return e.Message;
        }
    }

    /// <summary>A task "H" that holds cpu0's instance of <paramref name="ll"/> and waits on the returned event before unlocking.</summary>
    private static async Task<(RtTask H, RtEvent Release)> SpawnHolderAsync(RtScheduler rt, LocalLock ll)
    {
        var release = new RtEvent();
        RtTask h = rt.Spawn("H", 10, async ctx =>
        {
            using (await ll.LockAsync(ctx))
            {
                await release.WaitAsync(ctx);
            }
        });
        await Rt.Until(() => h.State == RtTaskState.Blocked && ll.OwnerOn(0) == h, "H holds the lock and waits");
        return (h, release);
    }

    /// <summary>The lock is free, nothing stays pinned (the misusing task's wait pin is dropped when it ends), and another task takes it.</summary>
    private static async Task AssertLockUsableAsync(RtScheduler rt, LocalLock ll)
    {
        Assert.Null(ll.OwnerOn(0));
        Assert.Equal(0, rt.NrPinned(0));
        var next = rt.Spawn<string?>("next", 10, async ctx =>
        {
            using (await ll.LockAsync(ctx))
            {
                return ll.OwnerOn(0)?.Name;
            }
        });
        Assert.Equal("next", await next.WithTimeout());
        await rt.AssertStillRunsTasks();
    }
}
