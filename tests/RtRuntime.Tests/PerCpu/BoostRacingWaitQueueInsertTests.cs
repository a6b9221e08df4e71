using System.Runtime.CompilerServices;
using RtRuntime.Cpus;
using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.PerCpu;

/// <summary>
/// A priority-inheritance boost of a task that waits on a wait queue (an Rt local lock's holder asleep
/// on a semaphore) runs on the holder's CPU under that CPU's lock, while tasks on other CPUs list
/// themselves on the same queue under its gate. The new priority and the waiter's new place must change
/// together under the gate: a task listed between the two placed itself against a priority the list did
/// not have yet, and a lower waiter stayed ahead of it for good.
/// </summary>
public class BoostRacingWaitQueueInsertTests
{
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_gate")]
    private static extern ref RawSpinLock GateOf(RtWaitQueue queue);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_waiters")]
    private static extern ref WaiterList WaitersOf(RtWaitQueue queue);

    [Fact]
    public async Task AWaiterListedWhileAnotherIsBoosted_TakesItsPlaceByPriority()
    {
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.StallThreshold = Rt.NoStallProbe; // cpu0 spins at the gate this test holds
        });
        var ll = new LocalLock(rt, "ll");
        var sem = new RtSemaphore(0);
        RtTask a = rt.Spawn("A", 50, async ctx => await sem.WaitAsync(ctx), affinity: CpuSet.Of(1));
        await Rt.Until(() => sem.WaiterCount == 1, "A waits");
        RtTask y = rt.Spawn("Y", 20, async ctx => await sem.WaitAsync(ctx), affinity: CpuSet.Of(1));
        await Rt.Until(() => sem.WaiterCount == 2, "Y waits");
        RtTask t = rt.Spawn("T", 10, async ctx =>
        {
            using (await ll.LockAsync(ctx))
            {
                await sem.WaitAsync(ctx); // asleep holding cpu0's lock
            }
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => sem.WaiterCount == 3 && t.State == RtTaskState.Blocked, "T waits holding the lock");

        RtTask d = Rt.Unadmitted(rt, "D", priority: 30);
        RtTask h = BoostTWhileDIsListed(rt, ll, sem, t, d);
        await Rt.Until(() => h.State == RtTaskState.Blocked && t.EffectivePriority == 60, "H blocked on the lock, T boosted to 60");

        string[] order = TakeOrderAndUnlist(sem, d);
        Assert.Equal(["T", "A", "D", "Y"], order);

        sem.Release(3);
        await Task.WhenAll(a.WithTimeout(), y.WithTimeout(), t.WithTimeout(), h.WithTimeout());
    }

    /// <summary>
    /// Holds the semaphore's gate while H (60) contends for T's lock on cpu0, whose boost of T then
    /// stops at that gate; lists D (30) on the semaphore as a waiter on another CPU would (Block's
    /// listing, under the gate), then lets the boost go on.
    /// </summary>
    private static RtTask BoostTWhileDIsListed(RtScheduler rt, LocalLock ll, RtSemaphore sem, RtTask t, RtTask d)
    {
        using (GateOf(sem).EnterScope())
        {
            RtTask h = rt.Spawn("H", 60, async ctx =>
            {
                using (await ll.LockAsync(ctx))
                {
                }
            }, affinity: CpuSet.Of(0));

            // Without the gate around the priority change, T shows 60 here while it still sits last;
            // with it, T stays at 10 until the gate is released. The bound only ends the wait then.
            long until = RtClock.NowNs() + 200_000_000;
            while (t.EffectivePriority != 60 && RtClock.NowNs() < until)
            {
                Thread.Sleep(1);
            }

            d.BlockedOn = sem;
            WaitersOf(sem).Insert(d, sem);
            return h;
        }
    }

    private static string[] TakeOrderAndUnlist(RtSemaphore sem, RtTask d)
    {
        using (GateOf(sem).EnterScope())
        {
            var order = new List<string>();
            for (RtTask? w = WaitersOf(sem).Head; w is not null; w = w.WaitNext)
            {
                order.Add(w.Name);
            }

            _ = WaitersOf(sem).Remove(d);
            d.BlockedOn = null;
            return [.. order];
        }
    }
}
