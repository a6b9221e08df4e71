using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.PerCpu;

/// <summary>
/// A contended Rt lock's awaitable awaited a second time while its first await's lock is still held:
/// refused at once, as a stale sleep or wait awaiter is, instead of queueing the holder as a waiter
/// of its own lock (a deadlock nothing reported).
/// </summary>
public class LocalLockAwaitedTwiceTests
{
    [Fact]
    public async Task ContendedLockAwaitedAgainWhileHeld_ThrowsAndTheLockStaysUsable()
    {
        await using var rt = Rt.Start(cpus: 1);
        var ll = new LocalLock(rt, "ll");
        var release = new RtEvent();
        var h = rt.Spawn("H", 10, async ctx =>
        {
            using (await ll.LockAsync(ctx))
            {
                await release.WaitAsync(ctx);
            }
        });
        await Rt.Until(() => h.State == RtTaskState.Blocked && ll.OwnerOn(0) == h, "H holds the lock and waits");

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
