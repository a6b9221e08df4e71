using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.PerCpu;

/// <summary>
/// Priority inheritance changes the priority of a task that may itself be waiting on a wait queue (an
/// Rt-model local lock holder may block while it holds the lock). Wait queues hand over in priority
/// order (highest first, FIFO within a priority), so a boost or an unboost must move the waiter to the
/// place its new priority gives it, as an rt_mutex requeues a waiter whose priority changed.
/// </summary>
public class BoostedWaiterOrderTests
{
    [Fact]
    public async Task SemaphoreWaiter_BoostedThenUnboostedWhileWaiting_HigherWaiterGetsTheNextPermit()
    {
        await using var rt = Rt.Start(cpus: 1);
        var ll = new LocalLock(rt, "ll");
        var sem = new RtSemaphore(0);
        var log = new EventLog();
        var t = rt.Spawn("T", 10, async ctx =>
        {
            using (await ll.LockAsync(ctx))
            {
                await sem.WaitAsync(ctx); // asleep holding the lock
                log.Add($"T:got permit prio {ctx.Task.EffectivePriority}");
            }
        });
        await Rt.Until(() => t.State == RtTaskState.Blocked && sem.WaiterCount == 1, "T waiting on the semaphore");

        var h = rt.Spawn("H", 50, async ctx =>
        {
            using (await ll.LockAsync(ctx))
            {
                log.Add("H:got lock (wrong: it is cancelled first)");
            }
        });
        await Rt.Until(() => h.State == RtTaskState.Blocked && t.EffectivePriority == 50, "H blocked on the lock, T boosted to 50");

        var w = rt.Spawn("W", 30, async ctx =>
        {
            await sem.WaitAsync(ctx);
            log.Add($"W:got permit prio {ctx.Task.EffectivePriority}");
        });
        await Rt.Until(() => w.State == RtTaskState.Blocked && sem.WaiterCount == 2, "W waiting behind the boosted T");

        h.Cancel(); // T drops back to 10 while it still waits: W (30) now comes first
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => h.WithTimeout());
        await Rt.Until(() => t.EffectivePriority == 10, "T unboosted");

        sem.Release();
        await Rt.Until(() => log.Snapshot().Length == 1, "one waiter got the permit");
        sem.Release();
        await t.WithTimeout();
        await w.WithTimeout();
        Assert.Equal(["W:got permit prio 30", "T:got permit prio 10"], log.Snapshot());
        Assert.Null(ll.OwnerOn(0));
        Assert.Equal(0, rt.NrPinned(0));
    }

    [Fact]
    public async Task SemaphoreWaiter_BoostedWhileWaiting_GetsThePermitBeforeLowerWaitersQueuedEarlier()
    {
        await using var rt = Rt.Start(cpus: 1);
        var ll = new LocalLock(rt, "ll");
        var sem = new RtSemaphore(0);
        var log = new EventLog();
        var w = rt.Spawn("W", 30, async ctx =>
        {
            await sem.WaitAsync(ctx);
            log.Add($"W:got permit prio {ctx.Task.EffectivePriority}");
        });
        await Rt.Until(() => w.State == RtTaskState.Blocked && sem.WaiterCount == 1, "W waiting");

        var t = rt.Spawn("T", 10, async ctx =>
        {
            using (await ll.LockAsync(ctx))
            {
                await sem.WaitAsync(ctx); // behind W: 10 < 30
                log.Add($"T:got permit prio {ctx.Task.EffectivePriority}");
            }
        });
        await Rt.Until(() => t.State == RtTaskState.Blocked && sem.WaiterCount == 2, "T waiting behind W");

        var h = rt.Spawn("H", 50, async ctx =>
        {
            using (await ll.LockAsync(ctx))
            {
                log.Add($"H:got lock prio {ctx.Task.EffectivePriority}");
            }
        });
        await Rt.Until(() => h.State == RtTaskState.Blocked && t.EffectivePriority == 50, "T boosted to 50 by H");

        sem.Release(); // T (boosted to 50) outranks W (30): it gets the permit, releases the lock, H runs
        await Rt.Until(() => log.Snapshot().Length == 2, "T got the permit and H the lock");
        sem.Release();
        await Task.WhenAll(t.WithTimeout(), w.WithTimeout(), h.WithTimeout());
        Assert.Equal(["T:got permit prio 50", "H:got lock prio 50", "W:got permit prio 30"], log.Snapshot());
    }
}
