using System.Collections.Concurrent;
using RtRuntime.Cpus;
using RtRuntime.PerCpu;
using RtRuntime.Scheduling;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// <see cref="RtMutex"/>, the kernel's rt_mutex: a waiter boosts the owner wherever it runs (so a
/// low-priority holder preempted by middle-priority work still gets to unlock), the boost follows
/// chains of owners and ends at unlock, the mutex passes to waiters in priority order, a wait that
/// would close a cycle is refused and reported, an owner that exits is reported and the mutex passes
/// on, and misuse throws while the runtime goes on.
/// </summary>
public class RtMutexTests
{
    [Fact]
    public async Task PriorityInversion_OnOneCpu_TheBoostedHolderRunsAheadOfTheMiddleTask()
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        var m = new RtMutex(rt, "m");
        var order = new List<string>();
        int boostInSection = -1;
        RtTask? h = null;
        RtTask? mid = null;
        RtTask l = rt.Spawn("l", 10, async ctx =>
        {
            using (await m.LockAsync(ctx))
            {
                h = rt.Spawn("h", 50, async c =>
                {
                    using (await m.LockAsync(c))
                    {
                        order.Add("h");
                    }
                });
                mid = rt.Spawn("mid", 30, async c =>
                {
                    for (int i = 0; i < 100; i++)
                    {
                        await c.PreemptionPoint();
                    }

                    order.Add("mid");
                });

                // h preempts here and blocks on m; boosted to 50, l comes back before mid (30).
                await ctx.PreemptionPoint();
                boostInSection = ctx.Task.EffectivePriority;
                order.Add("l unlocks");
            }
        });

        await l.WithTimeout();
        await h!.WithTimeout();
        await mid!.WithTimeout();
        Assert.Equal(50, boostInSection);
        Assert.Equal(["l unlocks", "h", "mid"], order); // without the boost: mid, l unlocks, h
        Assert.Null(m.Owner);
    }

    [Fact]
    public async Task AWaiterOnAnotherCpu_BoostsTheRunningOwner_UntilItUnlocks()
    {
        await using RtScheduler rt = Rt.Start(cpus: 2);
        var m = new RtMutex(rt, "m");
        int holds = 0;
        int release = 0;
        RtTask<(int Boosted, int After)> l = rt.Spawn<(int, int)>("l", 10, async ctx =>
        {
            int boosted;
            using (await m.LockAsync(ctx))
            {
                Volatile.Write(ref holds, 1);
                await ctx.SpinUntil(() => Volatile.Read(ref release) == 1, "released");
                boosted = ctx.Task.EffectivePriority;
            }

            return (boosted, ctx.Task.EffectivePriority);
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => Volatile.Read(ref holds) == 1, "l holds m");

        RtTask<RtTask?> h = rt.Spawn<RtTask?>("h", 60, async ctx =>
        {
            using (await m.LockAsync(ctx))
            {
                return m.Owner;
            }
        }, affinity: CpuSet.Of(1));
        await Rt.Until(() => l.EffectivePriority == 60, "l boosted to h's 60 (at its next preemption point)");
        Assert.Equal(10, l.BasePriority);
        Volatile.Write(ref release, 1);

        Assert.Equal((60, 10), await l.WithTimeout()); // the unlock drops the boost at once
        Assert.Same(h, await h.WithTimeout());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheBoostFollowsAChain_ToAQueuedOwnerBehindAMiddleTask(bool throughLocalLock)
    {
        // l (10) holds m1 on cpu0, where x (30) then spins until l is done; mid (20) holds m2 (or, with
        // throughLocalLock, cpu1's local lock) and waits for m1 on cpu1; h (50) waits for m2 (the local
        // lock). Boosted through mid, l outranks x and unlocks; without the chain's second step l stays
        // at 20 under x, and x times out. The second step is taken on h's thread, not posted to rt/balance.
        await using RtScheduler rt = Rt.Start(cpus: 2);
        var m1 = new RtMutex(rt, "m1");
        var m2 = new RtMutex(rt, "m2");
        var ll = new LocalLock(rt, "ll");
        async ValueTask<IDisposable> TakeOuter(TaskContext ctx) => throughLocalLock ? await ll.LockAsync(ctx) : await m2.LockAsync(ctx);
        int lHolds = 0;
        int midHolds = 0;
        int release = 0;
        int lDone = 0;
        int lBoost = -1;
        RtTask l = rt.Spawn("l", 10, async ctx =>
        {
            using (await m1.LockAsync(ctx))
            {
                Volatile.Write(ref lHolds, 1);
                await ctx.SpinUntil(() => Volatile.Read(ref release) == 1, "released"); // x preempts it, until the boost lets it back
                lBoost = ctx.Task.EffectivePriority;
            }

            Volatile.Write(ref lDone, 1);
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => Volatile.Read(ref lHolds) == 1, "l holds m1");
        RtTask x = rt.Spawn("x", 30, async ctx => await ctx.SpinUntil(() => Volatile.Read(ref lDone) == 1, "l done"), affinity: CpuSet.Of(0));
        await Rt.Until(() => l.State == RtTaskState.Runnable, "l preempted by x");

        RtTask mid = rt.Spawn("mid", 20, async ctx =>
        {
            using (await TakeOuter(ctx))
            {
                Volatile.Write(ref midHolds, 1);
                using (await m1.LockAsync(ctx))
                {
                }
            }
        }, affinity: CpuSet.Of(1));
        await Rt.Until(() => Volatile.Read(ref midHolds) == 1 && m1.WaiterCount == 1 && l.EffectivePriority == 20, "mid holds its lock and waits for m1, l boosted to 20"); // one step: still below x (mid's thread boosts l right after it lists itself)
        Volatile.Write(ref release, 1);

        RtTask h = rt.Spawn("h", 50, async ctx =>
        {
            using (await TakeOuter(ctx))
            {
            }
        }, affinity: CpuSet.Of(1));

        await Task.WhenAll(l.WithTimeout(), x.WithTimeout(), mid.WithTimeout(), h.WithTimeout());
        Assert.Equal(50, lBoost);
        Assert.Equal((10, 20), (l.EffectivePriority, mid.EffectivePriority));
        Assert.Equal(0, rt.Rebalancer.EventCount(BalanceReason.PriorityInheritance)); // h's thread walked the chain: no hop waited for rt/balance
    }

    [Fact]
    public async Task AChainLongerThanMaxLockDepth_IsWalkedToItsEnd_TheRestFromRtBalance()
    {
        // t0 holds m0 and waits for m1, held by t1, which waits for m2, … ; the last holds its mutex and
        // waits for an event. h (50) asks for m0: the walk boosts every owner down the chain, the first
        // MaxLockDepth hops on h's thread (a loop: no stack grows with the chain), the rest from
        // rt/balance, so the last owner runs at 50 and the chain unwinds once it is released.
        const int N = RtScheduler.MaxLockDepth + 200;
        await using RtScheduler rt = Rt.Start(cpus: 1);
        var mutexes = Enumerable.Range(0, N).Select(i => new RtMutex(rt, $"m{i}")).ToArray();
        var release = new RtEvent();
        var tasks = new RtTask[N];
        for (int i = N - 1; i >= 0; i--) // on one CPU, FIFO 10: each runs in spawn order, takes its mutex and blocks on the next
        {
            int k = i;
            tasks[k] = rt.Spawn($"t{k}", 10, async ctx =>
            {
                using (await mutexes[k].LockAsync(ctx))
                {
                    if (k == N - 1)
                    {
                        await release.WaitAsync(ctx);
                    }
                    else
                    {
                        using (await mutexes[k + 1].LockAsync(ctx))
                        {
                        }
                    }
                }
            });
        }

        await Rt.Until(() => mutexes[1].WaiterCount == 1 && tasks[0].State == RtTaskState.Blocked, "the chain is built (t0, spawned last, waits for m1)");
        RtTask h = rt.Spawn("h", 50, async ctx =>
        {
            using (await mutexes[0].LockAsync(ctx))
            {
            }
        });
        await Rt.Until(() => tasks[N - 1].EffectivePriority == 50, "the last owner boosted");
        Assert.All(tasks, t => Assert.Equal(50, t.EffectivePriority));
        Assert.True(rt.Rebalancer.EventCount(BalanceReason.PriorityInheritance) >= 1, "hops past MaxLockDepth go on from rt/balance");
        release.Set();
        await tasks.Append(h).AllWithTimeout();
        Assert.All(tasks, t => Assert.Equal(10, t.EffectivePriority));
    }

    [Fact]
    public async Task ANormalOwner_BoostedByAnRtWaiter_RunsAboveAnRtTaskThatStarvedIt()
    {
        await using RtScheduler rt = Rt.Start(cpus: 2);
        var m = new RtMutex(rt, "m");
        int holds = 0;
        int release = 0;
        int nDone = 0;
        RtTask n = rt.Spawn("n", 0, async ctx =>
        {
            using (await m.LockAsync(ctx))
            {
                Volatile.Write(ref holds, 1);
                await ctx.SpinUntil(() => Volatile.Read(ref release) == 1, "released"); // x preempts it, until the boost lets it back
            }

            Volatile.Write(ref nDone, 1);
        }, SchedPolicy.Normal, CpuSet.Of(0));
        await Rt.Until(() => Volatile.Read(ref holds) == 1, "n holds m");
        RtTask x = rt.Spawn("x", 30, async ctx => await ctx.SpinUntil(() => Volatile.Read(ref nDone) == 1, "n done"), affinity: CpuSet.Of(0));
        await Rt.Until(() => n.State == RtTaskState.Runnable, "n preempted by x");
        Volatile.Write(ref release, 1); // n cannot run under x unless boosted

        RtTask h = rt.Spawn("h", 50, async ctx =>
        {
            using (await m.LockAsync(ctx))
            {
            }
        }, affinity: CpuSet.Of(1));

        await Task.WhenAll(n.WithTimeout(), x.WithTimeout(), h.WithTimeout());
        Assert.Equal((SchedPolicy.Normal, 0), (n.Policy, n.EffectivePriority));
    }

    [Fact]
    public async Task Unlock_HandsTheMutexToWaitersInPriorityOrder()
    {
        await using RtScheduler rt = Rt.Start(cpus: 2);
        var m = new RtMutex(rt, "m");
        var order = new ConcurrentQueue<string>();
        int release = 0;
        RtTask o = await HoldOnCpu0Async(rt, m, 90, () => Volatile.Read(ref release) == 1);

        var waiters = new List<RtTask>();
        foreach (int prio in new[] { 20, 40, 30, 40 })
        {
            string name = $"w{prio}/{waiters.Count}";
            waiters.Add(rt.Spawn(name, prio, async ctx =>
            {
                using (await m.LockAsync(ctx))
                {
                    order.Enqueue(name);
                }
            }, affinity: CpuSet.Of(1)));
            int listed = waiters.Count;
            await Rt.Until(() => m.WaiterCount == listed, $"{name} waiting");
        }

        Volatile.Write(ref release, 1);
        await o.WithTimeout();
        await waiters.AllWithTimeout();
        Assert.Equal(["w40/1", "w40/3", "w30/2", "w20/0"], order); // highest first, FIFO within a priority
    }

    [Fact]
    public async Task AWaitClosingACycle_IsRefusedAndReported_AndTheOtherWaiterGetsItsMutex()
    {
        await using RtScheduler rt = Rt.Start(cpus: 2);
        var reports = new ConcurrentQueue<BugReport>();
        rt.BugReported += reports.Enqueue;
        var a = new RtMutex(rt, "a");
        var b = new RtMutex(rt, "b");
        int uHoldsB = 0;
        RtTask<Exception?> u = rt.SpawnCatching("u", 20, async ctx =>
        {
            using (await b.LockAsync(ctx))
            {
                Volatile.Write(ref uHoldsB, 1);
                await ctx.SpinUntil(() => a.Owner is not null && b.WaiterCount == 1, "t holds a and waits for b");
                using (await a.LockAsync(ctx))
                {
                }
            }
        });
        await Rt.Until(() => Volatile.Read(ref uHoldsB) == 1, "u holds b");
        RtTask t = rt.Spawn("t", 20, async ctx =>
        {
            using (await a.LockAsync(ctx))
            {
                using (await b.LockAsync(ctx))
                {
                }
            }
        });

        Exception? refused = await u.WithTimeout();
        await t.WithTimeout(); // u's refusal left b, which t then took
        var e = Assert.IsType<InvalidOperationException>(refused);
        Assert.Contains("circular locking deadlock", e.Message);
        Assert.Contains("a held by t", e.Message);
        BugReport report = Assert.Single(reports);
        Assert.Equal((BugKind.Deadlock, "u"), (report.Kind, report.TaskName));
        Assert.Null(a.Owner);
        Assert.Null(b.Owner);
    }

    [Fact]
    public async Task LockingItTwice_Throws_WithoutABugReport()
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        var m = new RtMutex(rt, "m");
        RtTask<Exception?> t = rt.SpawnCatching("t", 10, async ctx =>
        {
            using (await m.LockAsync(ctx))
            {
                using (await m.LockAsync(ctx)) // every form throws alike: RtMutexRecursionTests
                {
                }
            }
        });

        var e = Assert.IsType<InvalidOperationException>(await t.WithTimeout());
        Assert.Contains("not recursive", e.Message);
        Assert.Equal(0, rt.BugCount);
        Assert.Null(m.Owner); // the outer guard unlocked
    }

    [Fact]
    public async Task ATaskThatExitsHoldingIt_IsReported_AndItsWaiterGetsTheMutex()
    {
        await using RtScheduler rt = Rt.Start(cpus: 2);
        var reports = new ConcurrentQueue<BugReport>();
        rt.BugReported += reports.Enqueue;
        var m = new RtMutex(rt, "m");
        int release = 0;
        RtTask leaker = rt.Spawn("leaker", 10, async ctx =>
        {
            await m.WaitAsync(ctx); // taken, never unlocked
            await ctx.SpinUntil(() => Volatile.Read(ref release) == 1, "released");
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => m.Owner == leaker, "leaker holds m");
        RtTask<RtTask?> w = rt.Spawn<RtTask?>("w", 50, async ctx =>
        {
            await m.WaitAsync(ctx);
            RtTask? owner = m.Owner;
            m.Unlock(ctx);
            return owner;
        }, affinity: CpuSet.Of(1));
        await Rt.Until(() => m.WaiterCount == 1, "w waiting");

        Volatile.Write(ref release, 1);

        await leaker.WithTimeout();
        Assert.Same(w, await w.WithTimeout());
        BugReport report = Assert.Single(reports);
        Assert.Equal(BugKind.LockHeldAtExit, report.Kind);
        Assert.Contains("held m (released)", report.Message);
    }

    [Fact]
    public async Task AWaiterThatLeaves_CancelledOrTimedOut_EndsItsBoost()
    {
        await using RtScheduler rt = Rt.Start(cpus: 2);
        var m = new RtMutex(rt, "m");
        int release = 0;
        RtTask o = await HoldOnCpu0Async(rt, m, 10, () => Volatile.Read(ref release) == 1);

        using var cts = new CancellationTokenSource();
        RtTask cancelled = rt.Spawn("cancelled", 50, async ctx => await m.LockAsync(ctx), affinity: CpuSet.Of(1), cancellationToken: cts.Token);
        await Rt.Until(() => o.EffectivePriority == 50, "o boosted by the first waiter");
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WithTimeout());
        await Rt.Until(() => o.EffectivePriority == 10, "o's boost dropped with the cancelled waiter");

        int timedOutPrio = 40;
        RtTask<bool> timed = rt.Spawn<bool>("timed", timedOutPrio, async ctx => await m.WaitAsync(ctx, TimeSpan.FromMilliseconds(20)), affinity: CpuSet.Of(1));
        Assert.False(await timed.WithTimeout()); // o holds m until released below
        await Rt.Until(() => o.EffectivePriority == 10, "o's boost dropped with the timed-out waiter");

        Volatile.Write(ref release, 1);
        await o.WithTimeout();
        Assert.Null(m.Owner);
    }

    [Fact]
    public async Task AWaiterThatLeaves_DropsTheBoostOfAnAsleepOwner_BeforeItsAwaitEnds_WithoutRtBalance()
    {
        // o (10) holds m and sleeps on an event; a waiter (50) boosts it, then leaves, cancelled or
        // timed out. The kernel's waiter drops the boost (rt_mutex_adjust_prio_chain) before its lock
        // call returns; here the canceller's thread or the timer's does, at once for an asleep owner,
        // before the waiter is woken: when the waiter's await has ended, o is back at 10, and no hop
        // was left to rt/balance.
        await using RtScheduler rt = Rt.Start(cpus: 2);
        var m = new RtMutex(rt, "m");
        var wake = new RtEvent();
        RtTask o = await HoldAsleepAsync(rt, m, 0, wake);

        using var cts = new CancellationTokenSource();
        RtTask cancelled = rt.Spawn("cancelled", 50, async ctx => await m.LockAsync(ctx), affinity: CpuSet.Of(1), cancellationToken: cts.Token);
        await Rt.Until(() => o.EffectivePriority == 50, "o boosted by the first waiter");
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WithTimeout());
        int afterCancel = o.EffectivePriority;

        RtTask<bool> timed = rt.Spawn<bool>("timed", 40, async ctx => await m.WaitAsync(ctx, TimeSpan.FromMilliseconds(20)), affinity: CpuSet.Of(1));
        await Rt.Until(() => o.EffectivePriority == 40 || timed.IsCompleted, "o boosted by the timed waiter");
        Assert.False(await timed.WithTimeout());
        int afterTimeout = o.EffectivePriority;

        Assert.Equal((10, 10), (afterCancel, afterTimeout));
        Assert.Equal(0, rt.Rebalancer.EventCount(BalanceReason.PriorityInheritance));
        wake.Set();
        await o.WithTimeout();
        Assert.Null(m.Owner);
    }

    [Fact]
    public async Task ALocalLockWaiterThatLeaves_DropsTheBoostAlongTheChainToAnRtMutexOwner_WithoutRtBalance()
    {
        // o (10, cpu1) holds m and sleeps; o2 (20, cpu0) holds cpu0's local lock and waits for m; w (50,
        // cpu0) waits for the local lock: o2 and, through m, o run at 50. w's cancellation drops both
        // back to 20 from the canceller's thread before w's await ends (the local step under cpu0's
        // lock, the RtMutex step after it), with no hop left to rt/balance.
        await using RtScheduler rt = Rt.Start(cpus: 2);
        var m = new RtMutex(rt, "m");
        var ll = new LocalLock(rt, "ll");
        var wake = new RtEvent();
        RtTask o = await HoldAsleepAsync(rt, m, 1, wake);
        RtTask o2 = rt.Spawn("o2", 20, async ctx =>
        {
            using (await ll.LockAsync(ctx))
            using (await m.LockAsync(ctx))
            {
            }
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => o.EffectivePriority == 20 && o2.State == RtTaskState.Blocked, "o2 holds the local lock and waits for m");

        using var cts = new CancellationTokenSource();
        RtTask w = rt.Spawn("w", 50, async ctx => await ll.LockAsync(ctx), affinity: CpuSet.Of(0), cancellationToken: cts.Token);
        await Rt.Until(() => o.EffectivePriority == 50 && o2.EffectivePriority == 50, "o2 and o boosted by w");
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => w.WithTimeout());

        Assert.Equal((20, 20), (o2.EffectivePriority, o.EffectivePriority));
        Assert.Equal(0, rt.Rebalancer.EventCount(BalanceReason.PriorityInheritance));
        wake.Set();
        await Task.WhenAll(o.WithTimeout(), o2.WithTimeout());
        Assert.Equal((RtTask?)null, ll.OwnerOn(0));
    }

    [Fact]
    public async Task ABoostStillDueWhenItsTaskBlocksOnAnRtMutex_WalksOnToThatOwner_WithoutRtBalance()
    {
        // p (20, cpu0) holds m2 and computes without a point while w (50) waits for m2: w's boost waits
        // for p's step end, which lists p on m1, held by o (10, asleep on cpu1). The step end applies
        // the boost under cpu0's lock, moving p among m1's waiters; o's boost is then walked from cpu0's
        // thread once it holds no lock, not left to rt/balance (found by a review helper).
        await using RtScheduler rt = Rt.Start(cpus: 2);
        var m1 = new RtMutex(rt, "m1");
        var m2 = new RtMutex(rt, "m2");
        var wake = new RtEvent();
        RtTask o = await HoldAsleepAsync(rt, m1, 1, wake);

        int holds = 0;
        RtTask p = rt.Spawn("p", 20, async ctx =>
        {
            using (await m2.LockAsync(ctx))
            {
                Volatile.Write(ref holds, 1);
                ctx.SpinWithoutPointsUntil(() => m2.WaiterCount == 1, "w listed on m2"); // w's boost waits for p's step end
                using (await m1.LockAsync(ctx)) // the step ends here, listed on m1, with the boost still due
                {
                }
            }
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => Volatile.Read(ref holds) == 1, "p holds m2");

        RtTask w = rt.Spawn("w", 50, async ctx =>
        {
            using (await m2.LockAsync(ctx))
            {
            }
        }, affinity: CpuSet.Of(1));
        await Rt.Until(() => o.EffectivePriority == 50, "o boosted through p");

        long hops = rt.Rebalancer.EventCount(BalanceReason.PriorityInheritance);
        wake.Set();
        await Task.WhenAll(o.WithTimeout(), p.WithTimeout(), w.WithTimeout());
        Assert.Equal(0, hops);
    }

    [Fact]
    public async Task AnOwnerThatUnlocks_BeforeItsNextPointTookTheDropOfALeavingWaiter_RunsUnboostedAtOnce()
    {
        // A waiter that leaves posts the owner's drop for its next preemption point; an owner that
        // unlocks before that point must not keep the boost (found by the harness's mixed scenario).
        // The waiter leaves by cancellation once the owner has seen its boost (a 20 ms timeout did,
        // which a loaded machine could reach before the owner ran again: the boost was gone unseen).
        await using RtScheduler rt = Rt.Start(cpus: 2);
        var m = new RtMutex(rt, "m");
        int holds = 0;
        int sawBoost = 0;
        int waiterGone = 0;
        RtTask<(int Boosted, int AfterUnlock)> o = rt.Spawn<(int, int)>("o", 10, async ctx =>
        {
            int boosted;
            using (await m.LockAsync(ctx))
            {
                Volatile.Write(ref holds, 1);
                await ctx.SpinUntil(() => ctx.Task.EffectivePriority == 50, "boosted by the waiter");
                boosted = ctx.Task.EffectivePriority;
                Volatile.Write(ref sawBoost, 1);
                ctx.SpinWithoutPointsUntil(() => Volatile.Read(ref waiterGone) == 1, "the waiter left"); // no point: the drop waits
            }

            return (boosted, ctx.Task.EffectivePriority);
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => Volatile.Read(ref holds) == 1, "o holds m");
        using var leave = new CancellationTokenSource();
        RtTask w = rt.Spawn("w", 50, async ctx => await m.WaitAsync(ctx), affinity: CpuSet.Of(1), cancellationToken: leave.Token);
        await Rt.Until(() => Volatile.Read(ref sawBoost) == 1, "o saw its boost");

        leave.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => w.WithTimeout());
        Volatile.Write(ref waiterGone, 1);

        Assert.Equal((50, 10), await o.WithTimeout());
    }

    [Fact]
    public async Task Misuse_Throws_AndTheMutexStaysUsable()
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        var m = new RtMutex(rt, "m");
        var errors = new List<string>();
        RtTask t = rt.Spawn("t", 10, async ctx =>
        {
            errors.Add(Assert.Throws<InvalidOperationException>(() => m.Unlock(ctx)).Message); // not held
            errors.Add(Assert.Throws<InvalidOperationException>(() => default(RtMutexGuard).Dispose()).Message);
            RtMutexGuard g = await m.LockAsync(ctx);
            g.Dispose();
            errors.Add(Assert.Throws<InvalidOperationException>(() => g.Dispose()).Message); // twice
            using (ctx.PreemptDisable())
            {
                errors.Add(Assert.Throws<InvalidOperationException>(() => m.LockAsync(ctx)).Message); // a sleeping lock under preempt_disable
                Assert.True(m.TryLock(ctx, out RtMutexGuard held)); // a try-lock never sleeps
                held.Dispose();
            }
        });
        await t.WithTimeout();

        RtTask holder = rt.Spawn("holder", 10, async ctx => await m.WaitAsync(ctx));
        await holder.WithTimeout(); // exits holding it (a BUG report), which releases it
        RtTask<bool> after = rt.Spawn<bool>("after", 10, ctx => ValueTask.FromResult(m.TryLock(ctx, out RtMutexGuard g) && Release(g)));
        Assert.True(await after.WithTimeout());

        Assert.Contains("does not hold m", errors[0]);
        Assert.Contains("never taken", errors[1]);
        Assert.Contains("does not hold m", errors[2]);
        Assert.Contains("scheduling while atomic", errors[3]);
    }

    [Fact]
    public async Task BadInput_NamesTheArgument()
    {
        Assert.Equal("runtime", Assert.Throws<ArgumentNullException>(() => new RtMutex(null!)).ParamName);
        await using RtScheduler rt = Rt.Start(cpus: 1);
        await using RtScheduler other = Rt.Start(cpus: 1);
        var m = new RtMutex(rt, "m");
        RtTask<Exception?> t = other.SpawnCatching("foreign", 10, async ctx => await m.LockAsync(ctx));
        var e = Assert.IsType<ArgumentException>(await t.WithTimeout());
        Assert.Equal("context", e.ParamName);
        Assert.Contains("RtMutex 'm'", e.Message);
    }

    /// <summary>Spawns "o" on cpu0 at <paramref name="priority"/>, holding <paramref name="m"/> and passing points until <paramref name="release"/> holds; returns once it holds the mutex.</summary>
    private static async Task<RtTask> HoldOnCpu0Async(RtScheduler rt, RtMutex m, int priority, Func<bool> release)
    {
        RtTask o = rt.Spawn("o", priority, async ctx =>
        {
            using (await m.LockAsync(ctx))
            {
                await ctx.SpinUntil(release, "released");
            }
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => m.Owner == o, "o holds m");
        return o;
    }

    /// <summary>Spawns "o" (10) on <paramref name="cpu"/>, which takes <paramref name="m"/> and sleeps on <paramref name="wake"/>; returns once it does.</summary>
    private static async Task<RtTask> HoldAsleepAsync(RtScheduler rt, RtMutex m, int cpu, RtEvent wake)
    {
        RtTask o = rt.Spawn("o", 10, async ctx =>
        {
            using (await m.LockAsync(ctx))
            {
                await wake.WaitAsync(ctx);
            }
        }, affinity: CpuSet.Of(cpu));
        await Rt.Until(() => m.Owner == o && o.State == RtTaskState.Blocked, "o holds m, asleep");
        return o;
    }

    private static bool Release(RtMutexGuard guard)
    {
        guard.Dispose();
        return true;
    }
}
