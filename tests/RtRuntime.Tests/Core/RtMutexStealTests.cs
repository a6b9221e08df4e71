using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// <see cref="RtMutex"/> lock stealing (<c>rt_mutex_steal</c>): an unlock hands the mutex to its top
/// waiter, which takes it when it next runs; a task of strictly higher priority that locks it before
/// then takes it first, and the robbed waiter, listed again at the head of its priority, blocks again
/// when it runs and gets the mutex at the next unlock. A cancel or a timeout that comes while the
/// mutex is pending for the waiter and is then stolen ends the wait as it would have ended a listed one.
/// </summary>
public class RtMutexStealTests
{
    [Fact]
    public async Task AHigherTaskWokenBeforeTheHandedWaiterRuns_TakesTheMutexFirst_OnOneCpu()
    {
        // l (10) holds m; w (20) waits for it; h (30) waits for an event. l unlocks (m is handed to w,
        // queued behind l's next point) and sets the event: h runs before w and locks m. Without
        // stealing, h would wait for w's section (boosting w to 30): the order would be w, h.
        await using RtScheduler rt = Rt.Start(cpus: 1);
        var m = new RtMutex(rt, "m");
        var go = new RtEvent();
        var order = new List<string>();
        RtTask? w = null;
        RtTask? h = null;
        RtTask l = rt.Spawn("l", 10, async ctx =>
        {
            using (await m.LockAsync(ctx))
            {
                (h, w) = SpawnThiefAndWaiter(rt, m, go, order);
                await ctx.PreemptionPoint(); // h waits for go; w blocks on m
                Assert.Equal(1, m.WaiterCount);
            }

            Assert.Same(w, m.Owner); // handed to w, which has not run
            go.Set();
            await ctx.PreemptionPoint(); // h runs first (30 above w's 20) and steals m
        });

        await l.WithTimeout();
        await h!.WithTimeout();
        await w!.WithTimeout();
        Assert.Equal(["h", "w"], order);
        AssertStolenOnceAndFree(m);
    }

    [Fact]
    public async Task AHigherTask_StealsFromTheHandedWaiter_WhileALowerWaiterIsStillListed()
    {
        // Review finding (helper-152): as above, with v (15) waiting too. The unlock hands m to w (20),
        // and v, still listed, lends w 15 as m's owner: a loan below w's own 20 that changes nothing.
        // h (30) outranks w and every listed waiter, so it steals m (rt_mutex_steal: the kernel's woken
        // waiter is lent nothing). It did not: the steal refused any pending owner lent anything by m's
        // waiters, so h blocked on m, boosted w to 30 and waited for w's section: w, h, v.
        await using RtScheduler rt = Rt.Start(cpus: 1);
        var m = new RtMutex(rt, "m");
        var go = new RtEvent();
        var order = new List<string>();
        RtTask? w = null;
        RtTask? v = null;
        RtTask? h = null;
        RtTask l = rt.Spawn("l", 10, async ctx =>
        {
            using (await m.LockAsync(ctx))
            {
                v = rt.Spawn("v", 15, async c =>
                {
                    using (await m.LockAsync(c))
                    {
                        order.Add("v");
                    }
                });
                await ctx.PreemptionPoint(); // v blocks on m
                (h, w) = SpawnThiefAndWaiter(rt, m, go, order);
                await ctx.PreemptionPoint(); // h waits for go; w blocks on m
                Assert.Equal(2, m.WaiterCount);
            }

            Assert.Same(w, m.Owner); // handed to w, which has not run; v still waits
            go.Set();
            await ctx.PreemptionPoint(); // h runs first (30 above w's 20 and v's 15) and steals m
        });

        await l.WithTimeout();
        await h!.WithTimeout();
        await w!.WithTimeout();
        await v!.WithTimeout();
        Assert.Equal(["h", "w", "v"], order);
        AssertStolenOnceAndFree(m);
        Assert.Equal((20, 15), (w!.EffectivePriority, v!.EffectivePriority));
    }

    /// <summary>
    /// On the caller's CPU (one CPU): h (30), which waits for <paramref name="go"/> and then locks
    /// <paramref name="m"/>, and w (20), which locks it; each records its name in its section.
    /// </summary>
    private static (RtTask H, RtTask W) SpawnThiefAndWaiter(RtScheduler rt, RtMutex m, RtEvent go, List<string> order)
    {
        RtTask h = rt.Spawn("h", 30, async c =>
        {
            await go.WaitAsync(c);
            using (await m.LockAsync(c))
            {
                order.Add("h");
            }
        });
        RtTask w = rt.Spawn("w", 20, Locks(m, () => order.Add("w")));
        return (h, w);
    }

    [Theory]
    [InlineData(15, false)]
    [InlineData(20, false)] // an equal priority does not steal (FIFO among equals)
    [InlineData(25, true)]
    public async Task TheUnlockerLockingAgain_StealsOnlyAboveTheHandedWaiter(int lockerPriority, bool steals)
    {
        await using RtScheduler rt = Rt.Start(cpus: 2);
        var m = new RtMutex(rt, "m");
        (RtTask<(bool Took, bool Robbed)> l, RtTask<bool> w) = await HandOverAsync(rt, m, lockerPriority, Locks(m), async (ctx, w, release) =>
        {
            bool took = m.TryLock(ctx, out RtMutexGuard guard); // a default guard when not taken
            release();
            await ctx.SpinUntil(() => w.State == RtTaskState.Blocked || w.IsCompleted, "w blocked again, or done");
            bool robbed = m.WaiterCount == 1 && w.State == RtTaskState.Blocked;
            if (took)
            {
                guard.Dispose();
            }

            return (took, robbed);
        });

        (bool took, bool robbed) = await l.WithTimeout();
        Assert.True(await w.WithTimeout()); // it got the mutex in the end
        Assert.Equal(steals, took);
        Assert.Equal(steals, robbed); // robbed, w ran, blocked again, and waited for l's unlock
        Assert.Equal(steals ? 1 : 0, m.StealCount);
        Assert.Null(m.Owner);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ARobbedTimedWait_TimesOut_WhetherItsTimerFiredBeforeOrAfterTheSteal(bool timerFiresWhilePending)
    {
        await using RtScheduler rt = Rt.Start(cpus: 2);
        var m = new RtMutex(rt, "m");
        TimeSpan timeout = TimeSpan.FromSeconds(1); // past the setup (else w leaves the waiters before the handover); l waits for it when it must fire first
        (RtTask<bool> l, RtTask<bool> w) = await HandOverAsync(rt, m, 30, TimedLocks(m, timeout), async (ctx, w, release) =>
        {
            if (timerFiresWhilePending)
            {
                await ctx.SpinUntil(() => w.Rare.WaitEndMissed, "w's timer fired while m was pending for it");
            }

            Assert.True(m.TryLock(ctx, out RtMutexGuard guard));
            using (guard)
            {
                release();
                await ctx.SpinUntil(() => w.IsCompleted, "w's wait ended"); // held past its deadline
                return m.Owner == ctx.Task;
            }
        });

        Assert.True(await l.WithTimeout());
        Assert.False(await w.WithTimeout()); // timed out: nothing taken
        AssertStolenOnceAndFree(m);
    }

    [Fact]
    public async Task ARobbedWaiterCancelledWhileTheMutexWasPendingForIt_ThrowsFromItsAwait()
    {
        await using RtScheduler rt = Rt.Start(cpus: 2);
        var m = new RtMutex(rt, "m");
        (RtTask<bool> l, RtTask<bool> w) = await HandOverAsync(rt, m, 30, Locks(m), async (ctx, w, release) =>
        {
            w.Cancel(); // finds w off the list: the mutex is pending for it
            bool missed = w.Rare.WaitEndMissed;
            Assert.True(m.TryLock(ctx, out RtMutexGuard guard));
            using (guard)
            {
                release();
                await ctx.SpinUntil(() => w.IsCompleted, "w's wait ended");
            }

            return missed;
        });

        Assert.True(await l.WithTimeout());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => w.WithTimeout());
        AssertStolenOnceAndFree(m);
    }

    [Fact]
    public async Task ACancelOfARobbedWaiterNotRunSince_LeavesItToItsClaim_ItNeverEntersWithoutTheMutex()
    {
        // Review finding (helper-95): a canceller that took the robbed, runnable waiter off the list
        // stopped (dropping l's boost, cpu0's lock held here) before it wrote the wait's end, and the
        // waiter ran meanwhile: its await returned as if it held m. Now the canceller leaves it listed
        // and notes the cancel, which its claim takes.
        await using RtScheduler rt = Rt.Start(cpus: 2);
        var m = new RtMutex(rt, "m");
        int entered = 0;
        int unlock = 0;
        Action? releaseX = null;
        (RtTask<bool> l, RtTask<bool> w) = await HandOverAsync(rt, m, 30, Locks(m, () => Volatile.Write(ref entered, 1)), StealsAndHolds(m, release => Volatile.Write(ref releaseX, release), () => Volatile.Read(ref unlock) == 1));
        await Rt.Until(() => m.StealCount == 1 && Volatile.Read(ref releaseX) is not null, "l stole m");

        using (new CpuLockHold(rt.Cpus[0]))
        {
            var canceller = new Thread(() => w.Cancel()) { IsBackground = true };
            canceller.Start();
            await Rt.Until(() => w.Rare.WaitEndMissed || m.WaiterCount == 0, "the cancel came");
            releaseX!(); // w runs on cpu1 with the hold still on
            await Within(() => Volatile.Read(ref entered) == 1 || w.IsCompleted);
            canceller.Join(Rt.Hang);
        }

        Volatile.Write(ref unlock, 1);
        Assert.True(await l.WithTimeout());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => w.WithTimeout());
        Assert.Equal(0, entered);
        Assert.Null(m.Owner);
    }

    [Fact]
    public async Task ATimeoutOfARobbedWaiterNotRunSince_NeverWakesItsNextWait()
    {
        // Review finding (helper-95): the timer took the robbed, runnable waiter off the list and stopped
        // (dropping l's boost) before it woke it; the waiter saw its wait time out and began another,
        // which the late wakeup then ended with no signal.
        await using RtScheduler rt = Rt.Start(cpus: 3);
        var m = new RtMutex(rt, "m");
        var ev = new RtEvent();
        int evSet = 0;
        int unlock = 0;
        Action? releaseX = null;
        (RtTask<bool> l, RtTask<string> w) = await HandOverAsync(rt, m, 30, async ctx =>
        {
            if (await m.WaitAsync(ctx, TimeSpan.FromSeconds(1)))
            {
                m.Unlock(ctx);
                return "got m";
            }

            await ev.WaitAsync(ctx); // nobody sets it until the test does
            return Volatile.Read(ref evSet) == 1 ? "signalled" : "a wakeup with no signal";
        }, StealsAndHolds(m, release => Volatile.Write(ref releaseX, release), () => Volatile.Read(ref unlock) == 1));
        await Rt.Until(() => m.StealCount == 1 && Volatile.Read(ref releaseX) is not null, "l stole m");

        using (new CpuLockHold(rt.Cpus[0]))
        {
            await Rt.Until(() => w.Rare.WaitEndMissed || m.WaiterCount == 0, "w's timeout came (cpu2's timer duty)");
            releaseX!();
            await Within(() => ev.WaiterCount == 1 || w.IsCompleted);
        }

        await Within(() => w.IsCompleted);
        Volatile.Write(ref evSet, 1);
        ev.Set();
        Volatile.Write(ref unlock, 1);
        Assert.True(await l.WithTimeout());
        Assert.Equal("signalled", await w.WithTimeout());
    }

    [Fact]
    public async Task AThiefBelowAListedWaiter_DoesNotSteal()
    {
        // Review finding (helper-95): m is handed to r (20, queued behind x); w (15) waits and is raised
        // to 50 while r's requeue at that boost waits for cpu1's lock; t (30) compared itself with r
        // alone, stole m, and ran its section at 30 with w (50) waiting for it. The steal compares with
        // the top waiter too (the kernel steals against the top of the waiters' tree).
        await using RtScheduler rt = Rt.Start(cpus: 3);
        var m = new RtMutex(rt, "m");
        (RtTask l, RtTask r, RtTask w, RtTask x, Action releaseX) = await HandedToRBehindXAsync(rt, m, Locks(m), Locks(m));

        RtTask<bool> t;
        using (new CpuLockHold(rt.Cpus[1]))
        {
            var setter = new Thread(() => rt.SetPriority(w, 50)) { IsBackground = true };
            setter.Start(); // w moves to 50 and lends it to r; r's requeue waits for cpu1's lock
            await Rt.Until(() => Volatile.Read(ref r.Rare.MutexBoost) == 50, "r is lent 50");
            t = rt.Spawn<bool>("t", 30, TriesOnce(m), affinity: CpuSet.Of(0));
            Assert.False(await t.WithTimeout()); // 30 is below w's 50
        }

        releaseX();
        await new[] { l, r, w, x }.AllWithTimeout();
        Assert.Equal(0, m.StealCount);
    }

    [Fact]
    public async Task APriorityChangeOfAQueuedPendingOwner_WithAnotherRequestLanding_DoesNotReenterThePiLock()
    {
        // w, handed m and still queued (BlockedOn m), is moved among m's waiters under the PI lock
        // (ChangeWaiterPrio: TryApplySchedRequestToQueued, from rt/balance or a setter) while another
        // writer's request lands (a new waiter's boost). The requeue under that lock used to take the
        // request, whose application takes the PI lock again: not reentrant, the thread spun for good
        // under cpu0's lock and the PI lock, and the whole runtime froze (rtstress mixed, ~1 run in 30).
        // Now the request is left to its writer, who applies it after writing it.
        RtScheduler rt = Rt.Start(cpus: 1);
        var m = new RtMutex(rt, "m");
        RtTask? w = null;
        var handed = new TaskCompletionSource();
        int release = 0;
        RtTask l = rt.Spawn("l", 10, async ctx =>
        {
            RtMutexGuard held = await m.LockAsync(ctx);
            w = rt.Spawn("w", 20, async c =>
            {
                using (await m.LockAsync(c))
                {
                }
            });
            await ctx.PreemptionPoint(); // w runs and blocks on m
            held.Dispose(); // handed to w, which stays queued behind l (no point until release)
            handed.SetResult();
            while (Volatile.Read(ref release) == 0)
            {
                Thread.SpinWait(100);
            }
        });

        await handed.Task.WithTimeout();
        Cpu cpu = w!.Cpu!;
        Assert.True(cpu.Rq.Contains(w));
        Assert.Same(m, w.BlockedOn);
        var change = new Thread(() =>
        {
            using (cpu.Lock.EnterScope())
            {
                RtScheduler.RequestRecompute(w); // the other writer's request, after the first was taken
                _ = m.ChangeWaiterPrio(cpu, w, 25);
            }
        })
        { IsBackground = true };
        change.Start();
        bool returned = change.Join(Rt.Hang);
        Volatile.Write(ref release, 1);
        Assert.True(returned, "the priority change never returned: it spins on the PI lock it holds (the wedged runtime is left behind: its stop would hang too)");
        await using (rt)
        {
            Assert.Equal(25, w.Prio); // requeued at its new priority
            Assert.True(cpu.Rq.Contains(w));
            rt.ApplySchedRequestWhereHeld(w); // what the writer does next: the request, left pending, is applied now
            Assert.Equal(20, w.Prio);
            await l.WithTimeout();
            await w.WithTimeout(); // it claims m and runs its section
            Assert.Null(m.Owner);
        }
    }

    [Fact]
    public async Task ARequestForARobbedWaiterStillQueued_IsNotAppliedAsToABlockedWaiter()
    {
        // w, robbed by h and still queued (listed on m again), has a priority request. A setter that read
        // it blocked before the handover and the steal applies it as to a blocked waiter, under m's gate
        // (TryApplySchedRequestToListed): that rewrote its priority in place, with w in its CPU's run
        // queue at the old level (the queue's index of it then wrong). It is left to the queued path,
        // which requeues it.
        await using RtScheduler rt = Rt.Start(cpus: 1);
        var m = new RtMutex(rt, "m");
        await WhileStolenFromQueuedWAsync(rt, m, Locks(m), affinity: null, (cpu, w) =>
        {
            Assert.True(cpu.Rq.Contains(w));
            Interlocked.Exchange(ref w.Rare.SchedRequest, SchedRequest.OfPriority(40));
            using (cpu.Lock.EnterScope())
            {
                Assert.False(m.TryApplySchedRequestToListed(cpu, w, out RtTask? boosted));
                Assert.Null(boosted);
            }

            Assert.Equal(20, w.Prio); // unchanged while queued at 20
            rt.ApplySchedRequestWhereHeld(w); // the queued path requeues it
            Assert.Equal(40, w.Prio);
            Assert.True(cpu.Rq.Contains(w));
            return Task.CompletedTask;
        });

        Assert.Equal(1, m.StealCount);
        Assert.Null(m.Owner);
    }

    [Fact]
    public async Task ARequestAppliedAtEnqueueToARobbedWaiter_ThatKeepsItsPriority_KeepsItsPlace()
    {
        // h (30) steals m handed to w (20), which is listed again at the head of 20; v (20, on cpu1) then
        // waits for m behind it (w, v). A request that leaves w's priority at 20 (here a policy change
        // alone) is taken at w's enqueue (ApplySchedRequestOnEnqueueLocked, e.g. a push to another CPU):
        // it used to re-list w at the tail of 20 (v, w), so h's unlock handed m to v first. The kernel
        // moves a waiter only when its priority changes (no DEQUEUE_MOVE for the same prio;
        // rt_mutex_adjust_prio_chain stops at an unchanged waiter prio): w keeps its place.
        await using RtScheduler rt = Rt.Start(cpus: 2);
        var m = new RtMutex(rt, "m");
        var order = new List<string>();
        RtTask? v = null;
        await WhileStolenFromQueuedWAsync(rt, m, Locks(m, () => { lock (order) { order.Add("w"); } }), CpuSet.Of(0), async (cpu, w) =>
        {
            v = rt.Spawn("v", 20, Locks(m, () => { lock (order) { order.Add("v"); } }), affinity: CpuSet.Of(1));
            await Rt.Until(() => m.WaiterCount == 2, "v waits for m behind the robbed w");
            Interlocked.Exchange(ref w.Rare.SchedRequest, SchedRequest.Of(SchedPolicy.RoundRobin, 20));
            using (cpu.Lock.EnterScope())
            {
                RtScheduler.ApplySchedRequestOnEnqueueLocked(cpu, w, w.Rare);
            }

            Assert.Equal(20, w.Prio);
            Assert.Equal(SchedPolicy.RoundRobin, w.Policy);
        });

        await v!.WithTimeout();
        Assert.Equal(["w", "v"], order); // w was still first among m's waiters of 20
        Assert.Equal(1, m.StealCount);
    }

    /// <summary>
    /// l (10) takes <paramref name="m"/> and spawns w (20), which runs <paramref name="wBody"/> and blocks on
    /// m, then h (30); l's unlock hands m to w, queued behind l; l ends, and h runs before w, steals m
    /// and holds it, without a preemption point (w stays queued, listed on m again), until
    /// <paramref name="whileStolen"/> (given w's CPU and w) has run. Every task on <paramref name="affinity"/>.
    /// Returns when l, h and w have ended.
    /// </summary>
    private static async Task WhileStolenFromQueuedWAsync(
        RtScheduler rt, RtMutex m, Func<TaskContext, ValueTask<bool>> wBody, CpuSet? affinity, Func<Cpu, RtTask, Task> whileStolen)
    {
        var stolen = new TaskCompletionSource();
        int release = 0;
        RtTask? w = null;
        RtTask? h = null;
        RtTask l = rt.Spawn("l", 10, async ctx =>
        {
            using (await m.LockAsync(ctx))
            {
                w = rt.Spawn("w", 20, wBody, affinity: affinity);
                await ctx.PreemptionPoint(); // w blocks on m
                h = rt.Spawn("h", 30, async c =>
                {
                    using (await m.LockAsync(c)) // handed to w, not run yet: stolen
                    {
                        stolen.SetResult();
                        while (Volatile.Read(ref release) == 0)
                        {
                            Thread.SpinWait(100); // no point: w stays queued
                        }
                    }
                }, affinity: affinity);
            } // handed to w, queued behind l; l ends, and h (30) runs before w (20) and steals m
        }, affinity: affinity);

        try
        {
            await stolen.Task.WithTimeout();
            Assert.Same(m, w!.BlockedOn);
            await whileStolen(w.Cpu!, w);
        }
        finally
        {
            Volatile.Write(ref release, 1);
        }

        await Task.WhenAll(l.WithTimeout(), h!.WithTimeout(), w.WithTimeout());
    }

    [Fact]
    public async Task APendingOwnerLentABoostByTheMutexsWaiters_IsNotRobbed()
    {
        // Review finding (helper-96): m is handed to r (20, queued behind x on cpu1); w (15) is raised to
        // 50, which lends r 50 as m's owner. t (60) stole m: r, listed again, kept the 50 it was lent
        // (only cpu1 can take it back), ahead of w (50), and t's unlock handed m back to r, above w. A
        // pending owner whose priority is m's loan is not robbed now: r runs at 50 and claims m, then w.
        await using RtScheduler rt = Rt.Start(cpus: 3);
        var m = new RtMutex(rt, "m");
        var order = new System.Collections.Concurrent.ConcurrentQueue<string>();
        (RtTask l, RtTask r, RtTask w, RtTask x, Action releaseX) = await HandedToRBehindXAsync(rt, m, Locks(m, () => order.Enqueue("r")), Locks(m, () => order.Enqueue("w")));
        rt.SetPriority(w, 50);
        await Rt.Until(() => r.Prio == 50, "r, m's pending owner, is lent w's 50");

        RtTask<bool> t = rt.Spawn<bool>("t", 60, TriesOnce(m), affinity: CpuSet.Of(0));
        Assert.False(await t.WithTimeout());
        releaseX();
        await new[] { l, r, w, x }.AllWithTimeout();
        Assert.Equal(["r", "w"], order);
        Assert.Equal(0, m.StealCount);
    }

    /// <summary>
    /// l (10, cpu0) takes <paramref name="m"/>; r (20, cpu1) and then w (15, cpu2) run their bodies, which
    /// wait for it; x (90) then runs on cpu1 without a preemption point until released; l unlocks, and m
    /// is handed to r, queued behind x, with w still listed. Returns the tasks and x's release.
    /// </summary>
    private static async Task<(RtTask L, RtTask R, RtTask W, RtTask X, Action ReleaseX)> HandedToRBehindXAsync(
        RtScheduler rt, RtMutex m, Func<TaskContext, ValueTask<bool>> rBody, Func<TaskContext, ValueTask<bool>> wBody)
    {
        int xRuns = 0;
        int releaseX = 0;
        int unlockL = 0;
        RtTask l = rt.Spawn("l", 10, async ctx =>
        {
            RtMutexGuard held = await m.LockAsync(ctx);
            await ctx.SpinUntil(() => Volatile.Read(ref unlockL) == 1, "told to unlock");
            held.Dispose();
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => m.Owner == l, "l holds m");
        RtTask r = rt.Spawn("r", 20, rBody, affinity: CpuSet.Of(1));
        await Rt.Until(() => m.WaiterCount == 1, "r waits");
        RtTask w = rt.Spawn("w", 15, wBody, affinity: CpuSet.Of(2));
        await Rt.Until(() => m.WaiterCount == 2, "w waits");
        RtTask x = rt.Spawn("x", 90, ctx =>
        {
            Volatile.Write(ref xRuns, 1);
            ctx.SpinWithoutPointsUntil(() => Volatile.Read(ref releaseX) == 1, "released");
            return ValueTask.CompletedTask;
        }, affinity: CpuSet.Of(1));
        await Rt.Until(() => Volatile.Read(ref xRuns) == 1, "x runs on cpu1");
        Volatile.Write(ref unlockL, 1);
        await Rt.Until(() => m.Owner == r && m.WaiterCount == 1, "m handed to r (queued behind x)");
        return (l, r, w, x, () => Volatile.Write(ref releaseX, 1));
    }

    /// <summary>A body that tries <paramref name="m"/> once (unlocking it at once if taken) and returns whether it took it.</summary>
    private static Func<TaskContext, ValueTask<bool>> TriesOnce(RtMutex m) => ctx =>
    {
        bool took = m.TryLock(ctx, out RtMutexGuard guard);
        if (took)
        {
            guard.Dispose();
        }

        return ValueTask.FromResult(took);
    };

    [Fact]
    public async Task APendingOwnerWhoseInheritedBoostIsNotYetApplied_IsNotRobbedByALowerTask()
    {
        // Review finding (helper-99): w (10) holds b and is handed m; x (50) blocks on b, which lends w 50
        // under the PI lock, while w's Prio takes it only under cpu1's lock (held here). s (30) compared
        // itself with w's stale Prio (10) and stole m, and x (50) then waited behind s's section.
        await using RtScheduler rt = Rt.Start(cpus: 4);
        var m = new RtMutex(rt, "m");
        var b = new RtMutex(rt, "b");
        var mHeld = new RtEvent();
        var goX = new RtEvent();
        bool unlockNow = false, sGo = false;
        int sDone = 0;
        bool stole = false;

        RtTask l = rt.Spawn("l", 5, async ctx =>
        {
            using (await m.LockAsync(ctx))
            {
                mHeld.Set();
                await ctx.SpinUntil(() => Volatile.Read(ref unlockNow), "unlockNow");
            }
        }, affinity: CpuSet.Of(2));
        RtTask w = rt.Spawn("w", 10, async ctx =>
        {
            using (await b.LockAsync(ctx))
            {
                await mHeld.WaitAsync(ctx);
                using (await m.LockAsync(ctx))
                {
                }
            }
        }, affinity: CpuSet.Of(1));
        RtTask x = rt.Spawn("x", 50, async ctx =>
        {
            await goX.WaitAsync(ctx);
            using (await b.LockAsync(ctx))
            {
            }
        }, affinity: CpuSet.Of(0));
        RtTask s = rt.Spawn("s", 30, async ctx =>
        {
            await ctx.SpinUntil(() => Volatile.Read(ref sGo), "sGo");
            stole = m.TryLock(ctx, out RtMutexGuard g);
            Volatile.Write(ref sDone, 1);
            if (stole)
            {
                g.Dispose();
            }
        }, affinity: CpuSet.Of(3));

        await Rt.Until(() => m.WaiterCount == 1 && w.State == RtTaskState.Blocked, "w listed on m");
        int wPrioAtSteal, wBoostAtSteal;
        Cpu cpu1 = rt.Cpus[1];
        using (cpu1.Lock.EnterScope())
        {
            goX.Set(); // x blocks on b: w's MutexBoost = 50 under the PI lock; its Prio needs cpu1's lock
            Poll(() => Volatile.Read(ref w.Rare.MutexBoost) == 50);
            Volatile.Write(ref unlockNow, true); // l unlocks m: handed to w (pending), Grant waits for cpu1
            Poll(() => m.Owner == w);
            Volatile.Write(ref sGo, true); // s (30) tries m while w inherits 50 from x
            Poll(() => Volatile.Read(ref sDone) == 1);
            wPrioAtSteal = w.Prio;
            wBoostAtSteal = w.Rare.MutexBoost;
        }

        await l.WithTimeout();
        await s.WithTimeout();
        await x.WithTimeout();
        await w.WithTimeout();
        Assert.Equal(50, wBoostAtSteal);
        Assert.Equal(10, wPrioAtSteal); // stale: the boost is in flight
        Assert.False(stole, $"s (30) stole m from w, whose inherited priority is 50 (Prio {wPrioAtSteal} stale); steals={m.StealCount}");
    }

    /// <summary>The end of a test with one steal: <paramref name="m"/> was stolen once, and is free with nobody waiting.</summary>
    private static void AssertStolenOnceAndFree(RtMutex m)
    {
        Assert.Equal(1, m.StealCount);
        Assert.Null(m.Owner);
        Assert.Equal(0, m.WaiterCount);
    }

    /// <summary>Spins (on the test thread, which holds a CPU's lock) until the condition holds; a hang becomes a TimeoutException.</summary>
    private static void Poll(Func<bool> condition)
    {
        long deadline = RtClock.NowNs() + RtClock.ToNs(Rt.Hang);
        while (!condition())
        {
            if (RtClock.NowNs() > deadline)
            {
                throw new TimeoutException("poll");
            }

            Thread.Yield();
        }
    }

    /// <summary>Waits (on the test thread) for a condition that a bug would make true, for at most a second: the window a race needs.</summary>
    private static async Task Within(Func<bool> condition)
    {
        long deadline = RtClock.NowNs() + RtClock.ToNs(TimeSpan.FromSeconds(1));
        while (!condition() && RtClock.NowNs() < deadline)
        {
            await Task.Delay(1);
        }
    }

    /// <summary>
    /// l (<paramref name="lockerPriority"/>, cpu0) takes <paramref name="m"/>; w (20, cpu1 only) runs
    /// <paramref name="waiterBody"/>, which waits for it; x (90) then runs on cpu1 until released. l
    /// unlocks, handing m to w, which stays queued behind x, and goes on with
    /// <paramref name="afterHandOver"/> (given w, and the release of x).
    /// </summary>
    private static async Task<(RtTask<T> L, RtTask<TW> W)> HandOverAsync<T, TW>(
        RtScheduler rt, RtMutex m, int lockerPriority, Func<TaskContext, ValueTask<TW>> waiterBody, Func<TaskContext, RtTask, Action, ValueTask<T>> afterHandOver)
    {
        int xRuns = 0;
        int release = 0;
        RtTask<TW>? w = null;
        RtTask<T> l = rt.Spawn<T>("l", lockerPriority, async ctx =>
        {
            RtMutexGuard held = await m.LockAsync(ctx);
            await ctx.SpinUntil(() => m.WaiterCount == 1 && Volatile.Read(ref xRuns) == 1, "w waits for m, and x runs on cpu1");
            held.Dispose(); // handed to w
            Assert.Same(w, m.Owner);
            return await afterHandOver(ctx, w!, () => Volatile.Write(ref release, 1));
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => m.Owner == l, "l holds m");

        w = rt.Spawn("w", 20, waiterBody, affinity: CpuSet.Of(1));
        await Rt.Until(() => m.WaiterCount == 1, "w waits for m");

        _ = rt.Spawn("x", 90, async ctx =>
        {
            Volatile.Write(ref xRuns, 1);
            await ctx.SpinUntil(() => Volatile.Read(ref release) == 1, "released");
        }, affinity: CpuSet.Of(1));
        return (l, w);
    }

    /// <summary>
    /// l's part after the handover: it steals <paramref name="m"/> at once (TryLock), hands out the release
    /// of x, and holds m until <paramref name="unlock"/>; true.
    /// </summary>
    private static Func<TaskContext, RtTask, Action, ValueTask<bool>> StealsAndHolds(RtMutex m, Action<Action> releaseX, Func<bool> unlock) => async (ctx, _, release) =>
    {
        Assert.True(m.TryLock(ctx, out RtMutexGuard guard));
        releaseX(release);
        await ctx.SpinUntil(unlock, "told to unlock");
        guard.Dispose();
        return true;
    };

    /// <summary>A waiter's body: locks <paramref name="m"/>, runs <paramref name="inSection"/> holding it, and returns true.</summary>
    private static Func<TaskContext, ValueTask<bool>> Locks(RtMutex m, Action? inSection = null) => async ctx =>
    {
        using (await m.LockAsync(ctx))
        {
            inSection?.Invoke();
            return true;
        }
    };

    /// <summary>A waiter's body: waits for <paramref name="m"/> at most <paramref name="timeout"/>; true when it got it (and unlocked it).</summary>
    private static Func<TaskContext, ValueTask<bool>> TimedLocks(RtMutex m, TimeSpan timeout) => async ctx =>
    {
        if (!await m.WaitAsync(ctx, timeout))
        {
            return false;
        }

        m.Unlock(ctx);
        return true;
    };
}
