using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.PerCpu;

/// <summary>
/// Lock stealing on a local lock under the Rt model (PREEMPT_RT's local_lock_t is a spinlock_t, an
/// rt_mutex with <c>rt_mutex_steal</c>): the unlock hands the CPU's instance to its top waiter, which
/// takes it when it next runs; a task of higher priority on the CPU that locks it first takes it, as
/// does an equal one when both are in the normal class (the spinlock's lateral steal), and the robbed
/// waiter blocks again when it runs. A cancel of a robbed waiter is left to its claim.
/// </summary>
public class LocalLockStealTests
{
    [Fact]
    public async Task AHigherTaskWokenBeforeTheHandedWaiterRuns_TakesTheLockFirst()
    {
        // l (10) holds the lock; w (20) waits for it; h (30) waits for an event. l unlocks (handed to w,
        // queued) and sets the event: h runs before w and takes the lock. Without stealing h would block,
        // boost w to 30 and wait for w's section: the order would be w, h.
        await using RtScheduler rt = Rt.Start(cpus: 1);
        var ll = new LocalLock(rt, "ll");
        var go = new RtEvent();
        var order = new List<string>();
        RtTask? w = null;
        RtTask? h = null;
        RtTask l = rt.Spawn("l", 10, async ctx =>
        {
            using (await ll.LockAsync(ctx))
            {
                h = rt.Spawn("h", 30, async c =>
                {
                    await go.WaitAsync(c);
                    using (await ll.LockAsync(c))
                    {
                        order.Add("h");
                    }
                });
                w = rt.Spawn("w", 20, async c =>
                {
                    using (await ll.LockAsync(c))
                    {
                        order.Add("w");
                    }
                });
                await ctx.PreemptionPoint(); // h waits for go; w blocks on the lock
            }

            Assert.Same(w, ll.OwnerOn(0)); // handed to w, which has not run
            go.Set();
            await ctx.PreemptionPoint(); // h runs first and steals the lock
        });

        await l.WithTimeout();
        await h!.WithTimeout();
        await w!.WithTimeout();
        Assert.Equal(["h", "w"], order);
        Assert.Equal(1, ll.StealCount);
        Assert.Null(ll.OwnerOn(0));
    }

    [Theory]
    [InlineData(SchedPolicy.Normal, true)] // the spinlock's lateral steal: both in the normal class
    [InlineData(SchedPolicy.Fifo, false)] // an equal RT priority does not steal
    public async Task TheUnlockerTryLockingAgain_StealsFromAnEqualWaiter_OnlyInTheNormalClass(SchedPolicy policy, bool steals)
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        var ll = new LocalLock(rt, "ll");
        int got = 0;
        RtTask? w = null;
        int priority = policy == SchedPolicy.Normal ? 0 : 20;
        RtTask<bool> l = rt.Spawn<bool>("l", priority, async ctx =>
        {
            LocalLockGuard held = await ll.LockAsync(ctx);
            w = rt.Spawn("w", priority, async c =>
            {
                using (await ll.LockAsync(c))
                {
                    Volatile.Write(ref got, 1);
                }
            }, policy: policy);
            await ctx.Yield(); // w runs and blocks on the lock
            Assert.Equal(RtTaskState.Blocked, w.State);
            held.Dispose(); // handed to w, queued behind l
            bool took = ll.TryLock(ctx, out LocalLockGuard again);
            if (took)
            {
                Assert.Equal(RtTaskState.Runnable, w.State);
                await ctx.Yield(); // w runs, robbed: it blocks again
                Assert.Equal(RtTaskState.Blocked, w.State);
                again.Dispose();
            }

            return took;
        }, policy: policy);

        Assert.Equal(steals, await l.WithTimeout());
        await w!.WithTimeout();
        Assert.Equal(1, got);
        Assert.Equal(steals ? 1 : 0, ll.StealCount);
        Assert.Null(ll.OwnerOn(0));
    }

    [Fact]
    public async Task ARobbedWaiterCancelledBeforeItRuns_ThrowsFromItsAwait_WithoutTheLock()
    {
        // As above, h steals the lock from w (handed it, queued); then it cancels w and waits holding
        // the lock: w runs, its claim finds it robbed and cancelled, and its await throws; it never enters.
        await using RtScheduler rt = Rt.Start(cpus: 1);
        var ll = new LocalLock(rt, "ll");
        var go = new RtEvent();
        var back = new RtEvent();
        int entered = 0;
        RtTask? w = null;
        RtTask? h = null;
        RtTask l = rt.Spawn("l", 10, async ctx =>
        {
            using (await ll.LockAsync(ctx))
            {
                h = rt.Spawn("h", 30, async c =>
                {
                    await go.WaitAsync(c);
                    using (await ll.LockAsync(c)) // handed to w, which has not run: stolen
                    {
                        w!.Cancel(); // w is robbed and runnable: left listed, for its claim
                        await back.WaitAsync(c); // w runs meanwhile
                    }
                });
                w = rt.Spawn("w", 20, async c =>
                {
                    using (await ll.LockAsync(c))
                    {
                        Volatile.Write(ref entered, 1);
                    }
                });
                await ctx.PreemptionPoint(); // h waits for go; w blocks on the lock
            }

            go.Set();
            await ctx.PreemptionPoint(); // h runs, steals, cancels w and waits; w runs
        });

        await Rt.Until(() => w?.IsCompleted == true, "w's wait ended");
        back.Set();
        await l.WithTimeout();
        await h!.WithTimeout();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => w!.WithTimeout());
        Assert.Equal(0, entered);
        Assert.Equal(1, ll.StealCount);
        Assert.Null(ll.OwnerOn(0));
    }

    [Fact]
    public async Task AStopEndingAPendingOwner_GivesTheHandoverBack_NoStealListsTheDeadTask_NoBugReported()
    {
        // Review finding (helper-97): s (normal) holds ll; w (normal) blocks on it; s unlocks: handed to w
        // (pending, queued). The stop's thread then ends w (AbandonStragglers: TryDequeueForStop, then
        // EndAtStop = AbandonWait + the release of its locks); s, still running on cpu0, try-locks
        // between the two halves: it stole from the dead w and listed it again, the release then found
        // s the owner, and s's unlock handed cpu0's instance to the dead w for good.
        await using RtScheduler rt = Rt.Start(cpus: 1);
        var ll = new LocalLock(rt, "ll");
        RtTask? w = null;
        bool took = false;
        RtTask? ownerAfter = null;
        bool xTook = true;
        RtTask s = rt.Spawn("s", 0, async ctx =>
        {
            LocalLockGuard held = await ll.LockAsync(ctx);
            w = rt.Spawn("w", 0, async c =>
            {
                using (await ll.LockAsync(c))
                {
                }
            }, policy: SchedPolicy.Normal);
            await ctx.Yield(); // w runs and blocks on the lock
            held.Dispose(); // handed to w, queued behind s
            RtTask dead = w;
            // The stop's thread (emulated on a real other thread while cpu0 runs s): w is dequeued and its wait abandoned.
            Task.Run(() =>
            {
                Assert.True(RtScheduler.TryDequeueForStop(dead));
                RtScheduler.AbandonWait(dead);
            }).Wait();
            took = ll.TryLock(ctx, out LocalLockGuard again); // cpu0: before the fix, the dead pending owner was robbed
            Task.Run(() => rt.EndAtStop(dead)).Wait(); // the rest of the stop's EndAtStop
            if (took)
            {
                again.Dispose();
            }

            ownerAfter = ll.OwnerOn(0);
            xTook = ll.TryLock(ctx, out LocalLockGuard third);
            if (xTook)
            {
                third.Dispose();
            }
        }, policy: SchedPolicy.Normal);

        await s.WithTimeout();
        Assert.True(w!.IsCompleted); // ended by the (emulated) stop
        Assert.True(took); // free: the ended pending owner gave the handover back (no waiter left to take it)
        Assert.Equal(0, ll.StealCount); // nothing robbed from the dead task
        Assert.Null(ownerAfter);
        Assert.True(xTook);
        Assert.Equal(0, rt.BugCount); // it never held the lock: no "lock held when task exited
    }

    [Fact]
    public async Task ARobbedWaiterBoostedByTheLocksWaiters_KeepsItsPlaceAtTheHeadOfItsPriority()
    {
        // Review finding (helper-97): o (10) holds ll; r, q, z (20) block on it in that order; h (30) waits
        // for an event. o unlocks (handed to r, queued) and raises q to 25 (listed: r, the pending owner,
        // is lent 25). h runs and steals (30 > 25). r was listed again at 25, ahead of q, and its
        // recompute then moved it to the tail of 20, behind z; it goes back to the head of 20 now.
        await using RtScheduler rt = Rt.Start(cpus: 1);
        var ll = new LocalLock(rt, "ll");
        var go = new RtEvent();
        var order = new List<string>();
        var tasks = new List<RtTask>();
        RtTask? q = null;
        RtTask o = rt.Spawn("o", 10, async ctx =>
        {
            using (await ll.LockAsync(ctx))
            {
                tasks.Add(rt.Spawn("h", 30, async c =>
                {
                    await go.WaitAsync(c);
                    using (await ll.LockAsync(c))
                    {
                        order.Add("h");
                    }
                }));
                foreach (string name in new[] { "r", "q", "z" })
                {
                    RtTask t = rt.Spawn(name, 20, async c =>
                    {
                        using (await ll.LockAsync(c))
                        {
                            order.Add(name);
                        }
                    });
                    tasks.Add(t);
                    if (name == "q")
                    {
                        q = t;
                    }

                    await ctx.Yield(); // it blocks on the lock (o is lent 20 by r: a yield lets an equal task run)
                }
            }

            rt.SetPriority(q!, 25); // listed: moves to the head and lends r (the pending owner) 25
            go.Set();
            await ctx.PreemptionPoint(); // h steals from r; then q, r, z
        });

        await o.WithTimeout();
        foreach (RtTask t in tasks)
        {
            await t.WithTimeout();
        }

        Assert.Equal("steals=1 h,q,r,z", $"steals={ll.StealCount} {string.Join(",", order)}");
    }

    // Review finding (helper-98): s (normal) holds ll; w (normal) blocks; s unlocks (handed to w, pending).
    // s, at the migrate-disable depth limit, locks again: the steal took the lock, then the migrate-disable
    // overflow threw, leaving s the owner with no guard for it. Now it throws with nothing taken.
    [Theory]
    [InlineData(false)] // LockAsync (3e145cd's synchronous steal)
    [InlineData(true)]  // TryLock (the same TrySteal, since 8735bcd)
    public async Task AStealAtTheMigrateDisableLimit_ThrowsTheOverflow_WithNothingTaken(bool tryLock)
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        var ll = new LocalLock(rt, "ll");
        RtTask? w = null;
        Exception? thrown = null;
        RtTask? ownerAfterThrow = null;
        long steals = -1;
        RtTask s = rt.Spawn("s", 0, async ctx =>
        {
            LocalLockGuard held = await ll.LockAsync(ctx);
            w = rt.Spawn("w", 0, async c =>
            {
                using (await ll.LockAsync(c))
                {
                }
            }, policy: SchedPolicy.Normal);
            await ctx.Yield(); // w blocks on ll
            held.Dispose(); // handed to w (pending, queued)
            var guards = new Stack<MigrateGuard>();
            for (int i = 0; i < MigrateGuard.MaxDepth; i++)
            {
                guards.Push(ctx.MigrateDisable());
            }

            try
            {
                if (tryLock)
                {
                    _ = ll.TryLock(ctx, out _);
                }
                else
                {
                    _ = ll.LockAsync(ctx); // not awaited: the throw is synchronous
                }
            }
            catch (Exception e)
            {
                thrown = e;
            }

            ownerAfterThrow = ll.OwnerOn(0);
            steals = ll.StealCount;
            while (guards.Count > 0)
            {
                guards.Pop().Dispose();
            }
        }, policy: SchedPolicy.Normal);

        await s.WithTimeout();
        Assert.NotNull(thrown); // the overflow
        await w!.WithTimeout();
        Assert.Equal(0, steals); // nothing robbed
        Assert.NotSame(s, ownerAfterThrow); // before the fix: s owned ll, with no guard for it, for good
        Assert.Equal(0, rt.BugCount);
    }
}
