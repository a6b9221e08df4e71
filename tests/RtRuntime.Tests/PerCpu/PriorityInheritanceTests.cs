using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.PerCpu;

/// <summary>
/// Priority inheritance of Rt-model local locks (rt_mutex): exact boost and unboost, chains through
/// nested locks, handover in priority order (FIFO within a priority), cancelled waiters. One CPU, so
/// every task shares the lock instance and the order of events is fixed.
/// </summary>
public class PriorityInheritanceTests
{
    [Fact]
    public async Task LockAsync_MiddleTaskWouldStarveOwner_BoostRunsOwnerAboveMiddleSoHighGetsLockFirst()
    {
        // The classic inversion: without PI, M(30) would run to the end before T(10) could release
        // the lock H(50) waits for.
        await using var rt = Rt.Start(cpus: 1);
        var ll = new LocalLock(rt, "ll");
        var log = new EventLog();
        RtTask? m = null, h = null;
        var t = rt.Spawn("T", 10, async ctx =>
        {
            using (await ll.LockAsync(ctx))
            {
                m = rt.Spawn("M", 30, async mctx =>
                {
                    log.Add("M:run");
                    h = rt.Spawn("H", 50, async hctx =>
                    {
                        log.Add("H:wants lock");
                        using (await ll.LockAsync(hctx))
                        {
                            log.Add("H:got lock");
                        }
                    });
                    await mctx.PreemptionPoint();
                    log.Add("M:after");
                });
                await ctx.PreemptionPoint();
                log.Add($"T:resumed prio {ctx.Task.EffectivePriority}, M {m.State}");
            }

            log.Add($"T:unlocked prio {ctx.Task.EffectivePriority}");
            await ctx.PreemptionPoint();
            log.Add("T:after");
        });

        await t.WithTimeout();
        await m!.WithTimeout();
        await h!.WithTimeout();
        Assert.Equal(
            ["M:run", "H:wants lock", "T:resumed prio 50, M Runnable", "T:unlocked prio 10", "H:got lock", "M:after", "T:after"],
            log.Snapshot());
    }

    [Fact]
    public async Task LockAsync_WaitersOfDifferentPriorities_BoostIsTopWaiterAndHandoverIsPriorityThenFifo()
    {
        await using var rt = Rt.Start(cpus: 1);
        var ll = new LocalLock(rt, "ll");
        var got = new EventLog();
        var waiters = new List<RtTask>();
        var t = rt.Spawn<(List<int> Boosts, int AfterUnlock)>("T", 10, async ctx =>
        {
            var boosts = new List<int>();
            using (await ll.LockAsync(ctx))
            {
                foreach ((string name, int prio) in new[] { ("W20", 20), ("W25", 25), ("W30", 30), ("W40a", 40), ("W40b", 40) })
                {
                    waiters.Add(rt.Spawn(name, prio, async wctx =>
                    {
                        using (await ll.LockAsync(wctx))
                        {
                            got.Add($"{name} prio {wctx.Task.EffectivePriority}");
                        }
                    }));
                    await ctx.Yield(); // the waiter runs (it outranks or equals T's boosted priority) and blocks
                    boosts.Add(ctx.Task.EffectivePriority);
                }

                Assert.All(waiters, w => Assert.Equal(RtTaskState.Blocked, w.State));
            }

            return (boosts, ctx.Task.EffectivePriority);
        });

        var (boosts, afterUnlock) = await t.WithTimeout();
        await waiters.AllWithTimeout();
        Assert.Equal([20, 25, 30, 40, 40], boosts);
        Assert.Equal(10, afterUnlock);
        Assert.Equal(["W40a prio 40", "W40b prio 40", "W30 prio 30", "W25 prio 25", "W20 prio 20"], got.Snapshot());
        Assert.Null(ll.OwnerOn(0));
        Assert.Equal(0, rt.NrPinned(0));
    }

    [Fact]
    public async Task LockAsync_WaiterHoldsLowerWaitersBoost_HolderInheritsWhileHandedLockHasWaiters()
    {
        // While W30 holds the lock (handed over by T), W45 arriving later boosts W30, not T.
        await using var rt = Rt.Start(cpus: 1);
        var ll = new LocalLock(rt, "ll");
        var log = new EventLog();
        RtTask? w30 = null, w45 = null;
        var t = rt.Spawn("T", 10, async ctx =>
        {
            using (await ll.LockAsync(ctx))
            {
                w30 = rt.Spawn("W30", 30, async wctx =>
                {
                    using (await ll.LockAsync(wctx))
                    {
                        log.Add($"W30:got prio {wctx.Task.EffectivePriority}");
                        w45 = rt.Spawn("W45", 45, async hctx =>
                        {
                            using (await ll.LockAsync(hctx))
                            {
                                log.Add($"W45:got prio {hctx.Task.EffectivePriority}");
                            }
                        });
                        await wctx.PreemptionPoint(); // W45 preempts, blocks, boosts W30
                        log.Add($"W30:resumed prio {wctx.Task.EffectivePriority}, T prio {ctx.Task.EffectivePriority}");
                    }

                    log.Add($"W30:unlocked prio {wctx.Task.EffectivePriority}");
                });
                await ctx.Yield();
                log.Add($"T:boosted {ctx.Task.EffectivePriority}");
            }

            log.Add($"T:unlocked {ctx.Task.EffectivePriority}");
        });

        await t.WithTimeout();
        await w30!.WithTimeout();
        await w45!.WithTimeout();
        Assert.Equal(
            ["T:boosted 30", "T:unlocked 10", "W30:got prio 30", "W30:resumed prio 45, T prio 10", "W30:unlocked prio 30", "W45:got prio 45"],
            log.Snapshot());
    }

    [Fact]
    public async Task LockAsync_ChainThroughNestedLocks_OwnerOfFirstLockBoostedToTopPriorityThenUnboosted()
    {
        // T holds A; U holds B and waits on A; H waits on B ⇒ T and U at H's priority.
        await using var rt = Rt.Start(cpus: 1);
        var a = new LocalLock(rt, "A");
        var b = new LocalLock(rt, "B");
        var log = new EventLog();
        RtTask? u = null, h = null;
        var t = rt.Spawn("T", 10, async ctx =>
        {
            using (await a.LockAsync(ctx))
            {
                u = rt.Spawn("U", 20, async uctx =>
                {
                    using (await b.LockAsync(uctx))
                    {
                        log.Add("U:holds B, wants A");
                        using (await a.LockAsync(uctx))
                        {
                            log.Add($"U:got A prio {uctx.Task.EffectivePriority}");
                        }

                        log.Add($"U:released A prio {uctx.Task.EffectivePriority}");
                    }

                    log.Add($"U:released B prio {uctx.Task.EffectivePriority}");
                });
                await ctx.Yield();
                log.Add($"T:after U blocked prio {ctx.Task.EffectivePriority}");
                h = rt.Spawn("H", 50, async hctx =>
                {
                    log.Add("H:wants B");
                    using (await b.LockAsync(hctx))
                    {
                        log.Add($"H:got B prio {hctx.Task.EffectivePriority}");
                    }
                });
                await ctx.Yield();
                log.Add($"T:after H blocked prio {ctx.Task.EffectivePriority}, U prio {u.EffectivePriority}, owners {a.OwnerOn(0)?.Name}/{b.OwnerOn(0)?.Name}");
            }

            log.Add($"T:released A prio {ctx.Task.EffectivePriority}");
        });

        await t.WithTimeout();
        await u!.WithTimeout();
        await h!.WithTimeout();
        Assert.Equal(
            [
                "U:holds B, wants A",
                "T:after U blocked prio 20",
                "H:wants B",
                "T:after H blocked prio 50, U prio 50, owners T/U",
                "T:released A prio 10",
                "U:got A prio 50",
                "U:released A prio 50",
                "U:released B prio 20",
                "H:got B prio 50",
            ],
            log.Snapshot());
        Assert.Null(a.OwnerOn(0));
        Assert.Null(b.OwnerOn(0));
        Assert.Equal(0, rt.NrPinned(0));
    }

    [Fact]
    public async Task Cancel_TopWaiter_DropsOwnersBoostToNextWaiterAndLockStillHandsOver()
    {
        await using var rt = Rt.Start(cpus: 1);
        var ll = new LocalLock(rt, "ll");
        var log = new EventLog();
        RtTask? m = null, h = null;
        var boosted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var t = rt.Spawn<(int Boost, int AfterCancel, int AfterUnlock)>("T", 10, async ctx =>
        {
            int boost, afterCancel;
            using (await ll.LockAsync(ctx))
            {
                m = rt.Spawn("M", 30, async mctx =>
                {
                    using (await ll.LockAsync(mctx))
                    {
                        log.Add($"M:got prio {mctx.Task.EffectivePriority}");
                    }
                });
                await ctx.Yield();
                h = rt.Spawn("H", 50, async hctx =>
                {
                    try
                    {
                        using (await ll.LockAsync(hctx))
                        {
                            log.Add("H:got (wrong)");
                        }
                    }
                    catch (OperationCanceledException)
                    {
                        log.Add($"H:cancelled md {hctx.MigrateDisableDepth} nr_pinned {rt.NrPinned(0)}");
                        throw;
                    }
                });
                await ctx.Yield();
                boost = ctx.Task.EffectivePriority;
                boosted.TrySetResult(); // H is cancelled only after T has read its boost (else the unboost may come first)
                await ctx.SpinUntil(() => h.IsCompleted, "H cancelled");
                afterCancel = ctx.Task.EffectivePriority;
            }

            return (boost, afterCancel, ctx.Task.EffectivePriority);
        });

        await boosted.Task.WithTimeout();
        Assert.Equal(RtTaskState.Blocked, h!.State);
        h.Cancel();
        var (boost, afterCancel, afterUnlock) = await t.WithTimeout();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => h.WithTimeout());
        await m!.WithTimeout();
        Assert.Equal((50, 30, 10), (boost, afterCancel, afterUnlock));
        Assert.Equal(RtTaskState.Cancelled, h.State);
        Assert.Equal(["H:cancelled md 0 nr_pinned 2", "M:got prio 30"], log.Snapshot()); // T and M still pinned when H leaves
        Assert.Null(ll.OwnerOn(0));
        Assert.Equal(0, rt.NrPinned(0));
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task Cancel_OnlyWaiter_OwnerUnboostedToItsOwnPriority()
    {
        await using var rt = Rt.Start(cpus: 1);
        var ll = new LocalLock(rt, "ll");
        var hold = new RtEvent();
        RtTask? h = null;
        var t = rt.Spawn<int>("T", 10, async ctx =>
        {
            using (await ll.LockAsync(ctx))
            {
                h = rt.Spawn("H", 50, async hctx =>
                {
                    using (await ll.LockAsync(hctx))
                    {
                    }
                });
                await ctx.Yield();
                await hold.WaitAsync(ctx); // block while holding the lock, boosted
            }

            return ctx.Task.EffectivePriority;
        });

        await Rt.Until(() => h is { State: RtTaskState.Blocked } && t.State == RtTaskState.Blocked, "both blocked");
        Assert.Equal(50, t.EffectivePriority);
        h!.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => h.WithTimeout());
        Assert.Equal(10, t.EffectivePriority); // dropped while T is still asleep holding the lock
        Assert.Same(t, ll.OwnerOn(0));
        hold.Set();
        Assert.Equal(10, await t.WithTimeout());
        Assert.Null(ll.OwnerOn(0));
    }

    [Fact]
    public async Task Snapshot_WhileBoosted_ShowsBaseAndInheritedPriorityThenBaseAgain()
    {
        await using var rt = Rt.Start(cpus: 1);
        var ll = new LocalLock(rt, "ll");
        var gate = new RtEvent();
        int locked = 0;
        var owner = rt.Spawn("T", 10, async ctx =>
        {
            using (await ll.LockAsync(ctx))
            {
                Volatile.Write(ref locked, 1);
                await gate.WaitAsync(ctx);
            }
        });
        await Rt.Until(() => Volatile.Read(ref locked) == 1 && owner.State == RtTaskState.Blocked, "T holds the lock and sleeps");
        var waiter = rt.Spawn("H", 50, async ctx =>
        {
            using (await ll.LockAsync(ctx))
            {
            }
        });
        await Rt.Until(() => waiter.State == RtTaskState.Blocked, "H waits for the lock");

        var boosted = rt.Snapshot().Tasks.Single(x => x.Name == "T");
        gate.Set();
        await owner.WithTimeout();
        await waiter.WithTimeout();
        Assert.Equal((10, 50), (boosted.BasePriority, boosted.EffectivePriority));
        Assert.Equal((10, 10), (owner.BasePriority, owner.EffectivePriority));
    }
}
