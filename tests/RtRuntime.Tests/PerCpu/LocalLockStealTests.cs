using RtRuntime.Cpus;
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

    // Review finding (helpers 103, 104): the stop's thread ends o, which holds cpu0's ll (w 20, y 15 wait), and
    // hands ll to w from its thread (ReleaseHeldBy → UnlockContended, then TryWake: w goes on cpu0's wake
    // list). h (30), running on cpu0 between the two, steals ll: w is listed again, robbed. A priority
    // request for w is applied by the wake list's drain (ApplySchedRequestOnEnqueueLocked): w's priority
    // was rewritten in place, left where it was among ll's waiters and without h's boost following.
    // Each step is driven here in order: o is ended on the test thread, h spins without points.
    [Theory]
    [InlineData(50, "w=50 top=50 h=50")] // raised above h: h (ll's owner) is lent 50
    [InlineData(5, "w=5 top=15 h=30")]   // lowered below y: y is the top waiter now
    public async Task ARequestForARobbedWaiterOnTheWakeList_MovesItAmongTheWaiters_AndTheOwnersBoostFollows(int raisedTo, string expected)
    {
        await using RtScheduler rt = Rt.Start(o => { o.CpuCount = 1; o.Model = PreemptionModel.Rt; o.StallThreshold = Rt.NoStallProbe; });
        var ll = new LocalLock(rt, "ll");
        var never = new RtEvent();
        var entered = new System.Collections.Concurrent.ConcurrentQueue<string>();
        RtTask? w = null;
        RtTask? y = null;
        RtTask o = rt.Spawn("o", 10, async ctx =>
        {
            _ = await ll.LockAsync(ctx); // never unlocked: the (emulated) stop ends o holding it
            w = rt.Spawn("w", 20, async c =>
            {
                using (await ll.LockAsync(c))
                {
                    entered.Enqueue("w");
                }
            });
            y = rt.Spawn("y", 15, async c =>
            {
                using (await ll.LockAsync(c))
                {
                    entered.Enqueue("y");
                }
            });
            await never.WaitAsync(ctx); // w, then y, block on ll
        });
        await Rt.Until(() => o.State == RtTaskState.Blocked && w?.State == RtTaskState.Blocked && y?.State == RtTaskState.Blocked, "o, w and y blocked");
        var state = (LocalLockState)w!.BlockedOn!;
        Cpu cpu = state.Cpu;

        int running = 0, steal = 0, stolen = 0, release = 0;
        RtTask h = rt.Spawn("h", 30, ctx =>
        {
            Volatile.Write(ref running, 1);
            ctx.SpinWithoutPointsUntil(() => Volatile.Read(ref steal) == 1, "told to steal"); // no point: cpu0 drains nothing
            bool took = ll.TryLock(ctx, out LocalLockGuard guard);
            Volatile.Write(ref stolen, took ? 1 : 2);
            ctx.SpinWithoutPointsUntil(() => Volatile.Read(ref release) == 1, "released");
            if (took)
            {
                guard.Dispose();
            }

            return ValueTask.CompletedTask;
        });

        bool oDead = false;
        try
        {
            await Rt.Until(() => Volatile.Read(ref running) == 1, "h runs on cpu0");

            // The stop's thread: o taken (Dead), its lock handed over under cpu0's lock (UnlockContended).
            Assert.Equal(TaskRunState.Blocked, Interlocked.CompareExchange(ref o.Run, TaskRunState.Dead, TaskRunState.Blocked));
            oDead = true;
            using (cpu.Lock.EnterScope())
            {
                Assert.Same(w, LocalLock.HandOverLocked(state, o));
            }

            // cpu0 (h) steals before the stop's thread wakes w.
            Volatile.Write(ref steal, 1);
            await Rt.Until(() => Volatile.Read(ref stolen) != 0, "h tried to steal");
            Assert.Equal(1, Volatile.Read(ref stolen));
            Assert.Same(state, w.Rare.RobbedOf);

            Interlocked.Exchange(ref w.Rare.SchedRequest, SchedRequest.OfPriority(raisedTo)); // a setter's request, pending

            rt.TryWake(w); // the stop's thread: w onto cpu0's wake list (h runs there, passing no point)
            cpu.DrainWakeListFromElsewhere(); // the drain (rt/balance's, or cpu0's at its next point) applies the request

            string seen;
            using (cpu.Lock.EnterScope())
            {
                Assert.True(cpu.Rq.Contains(w));
                Assert.True(state.IsListedLocked(w) && state.IsListedLocked(y!));
                seen = $"w={w.Prio} top={state.TopWaiterPrio} h={h.Prio}";
            }

            Assert.Equal(expected, seen);
        }
        finally
        {
            Volatile.Write(ref release, 1);
            if (oDead)
            {
                rt.EndAtStop(o); // the rest of the stop's end of o
            }
        }

        await h.WithTimeout();
        await w.WithTimeout();
        await y!.WithTimeout();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => o.WithTimeout());
        Assert.Equal(raisedTo > 15 ? "w,y" : "y,w", string.Join(",", entered));
        Assert.Equal(1, ll.StealCount);
        Assert.Null(ll.OwnerOn(0));
    }
}
