using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.PerCpu;

/// <summary>
/// A guard disposed twice after its task took the lock again: the second dispose belongs to a hold
/// that has ended, so it throws and the newer hold stays, with its preempt- or migrate-disable
/// counted, until the newer guard unlocks. (Before, the stale guard passed the owner check and
/// released the newer hold: the section went on unprotected and the newer guard's dispose threw.)
/// </summary>
public class LocalLockStaleGuardTests
{
    public enum Take
    {
        TryLock,
        LockAsync,
    }

    [Theory]
    [InlineData(PreemptionModel.Rt, Take.TryLock)]
    [InlineData(PreemptionModel.Rt, Take.LockAsync)]
    [InlineData(PreemptionModel.NonRt, Take.TryLock)]
    [InlineData(PreemptionModel.NonRt, Take.LockAsync)]
    public async Task StaleGuardDisposedAfterTheLockWasRetaken_ThrowsAndTheNewerHoldStays(PreemptionModel model, Take take)
    {
        await using var rt = Rt.Start(cpus: 1, model: model);
        var ll = new LocalLock(rt, "ll");
        var t = rt.Spawn<(string, string?, int, string?, int)>("T", 10, async ctx =>
        {
            LocalLockGuard first = await TakeAsync(ll, ctx, take);
            first.Dispose();
            LocalLockGuard second = await TakeAsync(ll, ctx, take);
            string stale = Assert.Throws<InvalidOperationException>(() => first.Dispose()).Message;
            string? heldBy = ll.OwnerOn(0)?.Name;
            int depth = Depth(ctx, model);
            second.Dispose();
            return (stale, heldBy, depth, ll.OwnerOn(0)?.Name, Depth(ctx, model));
        });

        var (stale, heldBy, depth, ownerAfter, depthAfter) = await t.WithTimeout();
        Assert.Contains("earlier hold of cpu0's ll", stale, StringComparison.Ordinal);
        Assert.Equal(("T", 1), (heldBy, depth));
        Assert.Equal(((string?)null, 0), (ownerAfter, depthAfter));
        Assert.Equal(0, rt.NrPinned(0));
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task StaleGuardOfAContendedHandOver_ThrowsAndTheNewerHoldStays()
    {
        // The guard of a lock handed over by its holder's unlock (Rt) carries that hand-over's number.
        await using var rt = Rt.Start(cpus: 1);
        var ll = new LocalLock(rt, "ll");
        var release = new RtEvent();
        RtTask h = rt.Spawn("H", 10, async ctx =>
        {
            using (await ll.LockAsync(ctx))
            {
                await release.WaitAsync(ctx);
            }
        });
        await Rt.Until(() => h.State == RtTaskState.Blocked && ll.OwnerOn(0) == h, "H holds the lock and waits");

        var t = rt.Spawn<(string, string?, int)>("T", 20, async ctx =>
        {
            LocalLockAwaitable pending = ll.LockAsync(ctx); // contended: H holds it
            release.Set();
            LocalLockGuard handedOver = await pending; // granted when H unlocks
            handedOver.Dispose();
            using (await ll.LockAsync(ctx))
            {
                string stale = Assert.Throws<InvalidOperationException>(() => handedOver.Dispose()).Message;
                return (stale, ll.OwnerOn(0)?.Name, ctx.MigrateDisableDepth);
            }
        });

        var (stale, heldBy, depth) = await t.WithTimeout();
        await h.WithTimeout();
        Assert.Contains("earlier hold of cpu0's ll", stale, StringComparison.Ordinal);
        Assert.Equal(("T", 1), (heldBy, depth));
        Assert.Null(ll.OwnerOn(0));
        Assert.Equal(0, rt.NrPinned(0));
        await rt.AssertStillRunsTasks();
    }

    private static async ValueTask<LocalLockGuard> TakeAsync(LocalLock ll, TaskContext ctx, Take take)
    {
        if (take == Take.LockAsync)
        {
            return await ll.LockAsync(ctx);
        }

        Assert.True(ll.TryLock(ctx, out LocalLockGuard guard));
        return guard;
    }

    private static int Depth(TaskContext ctx, PreemptionModel model) =>
        model == PreemptionModel.NonRt ? ctx.PreemptDepth : ctx.MigrateDisableDepth;
}
