using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.PerCpu;

/// <summary>
/// A contended Rt lock's awaitable awaited off the task's CPU thread (after a ConfigureAwait(false)):
/// refused as the wait queues' awaitables refuse it, instead of blocking a task that is not running.
/// </summary>
public class LocalLockAwaitedOffCpuTests
{
    [Fact]
    public async Task ContendedLockAwaitedAfterConfigureAwaitFalse_ThrowsAndTheLockStaysUsable()
    {
        // Before: the await on the ThreadPool took the lock released meanwhile and left the task
        // suspended with nobody to wake it: T hung holding cpu0's lock, and so did every later taker.
        await using var rt = Rt.Start(cpus: 1);
        var ll = new LocalLock(rt, "ll");
        var release = new RtEvent();
        var released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
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
        Assert.Null(ll.OwnerOn(0));
        Assert.Equal(0, rt.NrPinned(0)); // T's wait pin is dropped when it ends

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
