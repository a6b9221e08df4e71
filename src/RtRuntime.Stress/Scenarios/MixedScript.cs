using RtRuntime.Cpus;
using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Stress;

/// <summary>A random task of the mixed scenario: its priority, affinity and steps, all drawn from the seed.</summary>
internal sealed record MixedScript(int Priority, SchedPolicy Policy, CpuSet? Affinity, MixedOp[] Ops, bool Throws)
{
    public MixedInjection Inject { get; init; }

    public static MixedScript Create(Random random, int cpus, double faultRate, PreemptionModel model)
    {
        double p = random.NextDouble();
        (SchedPolicy policy, int prio) = p switch
        {
            < 0.2 => (SchedPolicy.Normal, 0),
            < 0.3 => (SchedPolicy.RoundRobin, random.Next(1, 81)),
            _ => (SchedPolicy.Fifo, random.Next(1, 81)),
        };

        CpuSet? affinity = null;
        if (cpus > 1 && random.NextDouble() < 0.3)
        {
            int k = random.Next(1, Math.Min(cpus, 4) + 1);
            var ids = new int[k];
            for (int i = 0; i < k; i++)
            {
                ids[i] = random.Next(cpus);
            }

            affinity = CpuSet.Of(ids);
        }

        bool throws = random.NextDouble() < faultRate;
        int n = random.Next(2, 13);
        var ops = new List<MixedOp>(n + 1);
        for (int i = 0; i < n; i++)
        {
            ops.Add(Op(random, depth: 0, atomic: false, model, rtPolicy: policy != SchedPolicy.Normal));
        }

        if (throws)
        {
            ops.Insert(random.Next(ops.Count + 1), new MixedOp(MixedOpKind.Throw, 0));
        }

        return new MixedScript(prio, policy, affinity, ops.ToArray(), throws);
    }

    private static MixedOp Op(Random random, int depth, bool atomic, PreemptionModel model, bool rtPolicy, bool locked = false, bool inMutex = false)
    {
        // Inside an RtMutex section, one step in six takes a second RtMutex (always after the first: one
        // order, no deadlock). A task waiting for it while holding the first makes chains: a waiter for
        // the first boosts its holder, which passes the boost on to the second's.
        if (inMutex && random.Next(6) == 0)
        {
            return new MixedOp(MixedOpKind.MutexSection, 1, Inner(random, depth + 1, atomic: false, model, rtPolicy, locked: true));
        }

        // And one in six takes the local lock (mutex first, then local lock: the one order, as a local
        // lock section takes no mutex). A task waiting for the local lock while it holds the mutex is a
        // chain across the two kinds of lock, for the boost and for the deadlock walk.
        if (inMutex && random.Next(6) == 0)
        {
            return new MixedOp(MixedOpKind.LockSection, 1, Inner(random, depth + 1, atomic: true, model, rtPolicy, locked: true));
        }

        // A FIFO or RR task sets its own priority (1..80, below the probes) at one step in ten, outside
        // lock sections (inside one, a waiter's boost may keep it higher); preempt-disabled sections
        // included, where the runtime allows it (a raise or drop switches at the section's end).
        if (rtPolicy && !locked && random.Next(10) == 0)
        {
            return new MixedOp(MixedOpKind.SetPriority, random.Next(1, 81));
        }

        // An RtMutex section at one top-level step in ten: it may sleep, yield, wait, take guards and,
        // directly inside, the second mutex or the local lock (above), but not set its own priority (a
        // waiter's boost may keep it higher). A local lock section never takes a mutex, so the locks are
        // always taken in one order: the mutex, the second mutex, the local lock.
        // One in four of them waits at most 20 µs–1 ms for it (a waiter that times out drops the boost
        // it gave, along the chain), one in eight only tries it; a section whose mutex it did not get is skipped.
        if (depth == 0 && !atomic && !locked && random.Next(10) == 0)
        {
            int how = random.Next(8);
            long waitNs = how < 2 ? random.NextInt64(20_000, 1_000_000) : how == 2 ? 0 : -1;
            return new MixedOp(MixedOpKind.MutexSection, 0, Inner(random, depth + 1, atomic: false, model, rtPolicy, locked: true, inMutex: true), waitNs);
        }

        // A local lock section at one step in eight where the task may block for the lock (not inside a
        // preempt-disabled section, nor inside another lock section: recursion is an error), with only
        // work and preemption points inside it.
        if (!atomic && !locked && depth < 2 && random.Next(8) == 0)
        {
            return new MixedOp(MixedOpKind.LockSection, 0, Inner(random, depth + 1, atomic: true, model, rtPolicy, locked: true));
        }

        // Inside a preempt-disabled section (or a migrate-disabled one under NonRt, where it is the same
        // thing) only work, preemption points and priority changes are allowed: a sleep or yield would
        // be a real BUG.
        int choices = atomic ? 2 : depth >= 2 ? 4 : 6;
        switch (random.Next(choices))
        {
            case 0:
                return new MixedOp(MixedOpKind.Work, random.NextInt64(5_000, 200_000));
            case 1:
                return new MixedOp(MixedOpKind.Point, 0);
            case 2:
                return new MixedOp(MixedOpKind.Yield, 0);
            case 3:
                // A sleep, or a timed wait (10 µs–1 ms) for one of the run's few shared permits.
                return random.Next(2) == 0
                    ? new MixedOp(MixedOpKind.Sleep, random.NextInt64(20_000, 2_000_000))
                    : new MixedOp(MixedOpKind.TimedWait, random.NextInt64(10_000, 1_000_000));
            case 4:
            {
                bool innerAtomic = model == PreemptionModel.NonRt;
                return new MixedOp(MixedOpKind.MigrateSection, 0, Inner(random, depth + 1, innerAtomic, model, rtPolicy, locked));
            }

            default:
                return new MixedOp(MixedOpKind.PreemptSection, 0, Inner(random, depth + 1, atomic: true, model, rtPolicy, locked));
        }
    }

    private static MixedOp[] Inner(Random random, int depth, bool atomic, PreemptionModel model, bool rtPolicy, bool locked, bool inMutex = false)
    {
        var ops = new MixedOp[random.Next(1, 6)];
        for (int i = 0; i < ops.Length; i++)
        {
            ops[i] = Op(random, depth, atomic, model, rtPolicy, locked, inMutex);
        }

        return ops;
    }

    public async ValueTask RunAsync(TaskContext ctx, string name, InvariantChecker checker, MixedStats stats, AffinityHolder? holder = null)
    {
        CheckAffinity(ctx, name, checker, stats, holder);

        if (stats.HotplugRuntime is { } rt)
        {
            HotplugDriver.CheckOnline(rt, checker, name, ctx.RawCpuId);
        }

        if (Inject == MixedInjection.Bug)
        {
            using (ctx.PreemptDisable())
            {
                // A foreign suspension while preempt-disabled: "BUG: scheduling while atomic", whatever the task's affinity.
                await Task.Delay(1).ConfigureAwait(true);
            }
        }
        else if (Inject == MixedInjection.Pinned)
        {
            using MigrateGuard guard = ctx.MigrateDisable();
            int cpu = ctx.RawCpuId;
            checker.CheckPinned(name, cpu, cpu + 1); // as if the task had moved inside its section
        }

        await RunOpsAsync(ctx, name, Ops, -1, checker, stats, holder);
    }

    /// <summary>
    /// An RtMutex section: read the counter, run the steps (which may sleep, wait or be preempted while
    /// tasks on every CPU want the mutex), write it back plus one; no increment is lost if the mutex
    /// excludes. True when the holder was boosted by a waiter as it unlocked. The mutex is taken as
    /// <paramref name="waitNs"/> says (<see cref="MixedOp.WaitNs"/>); a section whose mutex a timed wait
    /// or a try-lock did not get is skipped (false).
    /// </summary>
    private async ValueTask<bool> RunMutexSectionAsync(TaskContext ctx, string name, MutexedCounter mutexed, MixedOp[] inner, long waitNs, int pinnedCpu, InvariantChecker checker, MixedStats stats, AffinityHolder? holder)
    {
        Interlocked.Increment(ref mutexed.Sections);
        RtMutex mutex = mutexed.Mutex;
        if (waitNs < 0)
        {
            using (await mutex.LockAsync(ctx))
            {
                return await RunMutexedOpsAsync(ctx, name, mutexed, inner, pinnedCpu, checker, stats, holder);
            }
        }

        if (waitNs == 0 ? !mutex.TryLock(ctx, out _) : !await mutex.WaitAsync(ctx, TimeSpan.FromTicks(waitNs / 100)))
        {
            Interlocked.Increment(ref waitNs == 0 ? ref mutexed.TryFailed : ref mutexed.TimedOut);
            return false;
        }

        try
        {
            return await RunMutexedOpsAsync(ctx, name, mutexed, inner, pinnedCpu, checker, stats, holder);
        }
        finally
        {
            mutex.Unlock(ctx);
        }
    }

    /// <summary>The section's body, the mutex held: read the counter, run the steps, write it back plus one; true when the holder is boosted.</summary>
    private async ValueTask<bool> RunMutexedOpsAsync(TaskContext ctx, string name, MutexedCounter mutexed, MixedOp[] inner, int pinnedCpu, InvariantChecker checker, MixedStats stats, AffinityHolder? holder)
    {
        checker.CheckMutexOwner(name, mutexed.Mutex.Owner, ctx.Task);
        long before = mutexed.Value;
        await RunOpsAsync(ctx, name, inner, pinnedCpu, checker, stats, holder);
        mutexed.Value = before + 1;
        Interlocked.Increment(ref mutexed.Increments);
        return ctx.Task.EffectivePriority > ctx.Task.BasePriority;
    }

    /// <summary>The task runs inside its affinity: the holder's masks when they change, else the script's.</summary>
    private void CheckAffinity(TaskContext ctx, string name, InvariantChecker checker, MixedStats stats, AffinityHolder? holder)
    {
        if (holder is not null)
        {
            holder.Check(ctx, name, checker, stats);
        }
        else if (Affinity is { } mask)
        {
            checker.CheckAffinity(name, mask, ctx.RawCpuId);
        }
    }

    private async ValueTask RunOpsAsync(TaskContext ctx, string name, MixedOp[] ops, int pinnedCpu, InvariantChecker checker, MixedStats stats, AffinityHolder? holder)
    {
        foreach (MixedOp op in ops)
        {
            switch (op.Kind)
            {
                case MixedOpKind.Work:
                    Busy.For(op.Ns);
                    break;
                case MixedOpKind.Point:
                    await ctx.PreemptionPoint();
                    break;
                case MixedOpKind.Yield:
                    await ctx.Yield();
                    break;
                case MixedOpKind.Sleep:
                    await ctx.Sleep(TimeSpan.FromTicks(op.Ns / 100));
                    break;
                case MixedOpKind.TimedWait when stats.Permits is { } permits:
                    if (await permits.WaitAsync(ctx, TimeSpan.FromTicks(op.Ns / 100)))
                    {
                        Interlocked.Increment(ref stats.TimedWaitsGot);
                        try
                        {
                            Busy.For(5_000);
                            await ctx.PreemptionPoint(); // held across a point: others time out or wait for it
                        }
                        finally
                        {
                            permits.Release();
                        }
                    }
                    else
                    {
                        Interlocked.Increment(ref stats.TimedWaitsTimedOut);
                    }

                    break;
                case MixedOpKind.Throw:
                    throw new InjectedFaultException($"fault injected into '{name}'");
                case MixedOpKind.SetPriority:
                    ctx.SetPriority((int)op.Ns);
                    Interlocked.Increment(ref stats.PriorityChanges);
                    checker.CheckUnboosted(name, ctx.Task, expectedBase: (int)op.Ns);
                    break;
                case MixedOpKind.LockSection when stats.Lock is { } localLock && stats.LockSlots is { } lockSlots:
                {
                    Interlocked.Increment(ref stats.LockSections);
                    using (LocalLockGuard guard = await localLock.LockAsync(ctx))
                    {
                        // The slot is read here and written back after the steps, whose preemption points
                        // let this CPU's other tasks run: any of them that wants the lock must wait (and
                        // boosts this one in the Rt model), so no increment is lost.
                        int cpu = ctx.RawCpuId;
                        checker.CheckLockOwner(name, cpu, localLock.OwnerOn(cpu), ctx.Task);
                        long before = lockSlots.ThisCpu(ctx);
                        await RunOpsAsync(ctx, name, op.Inner!, pinnedCpu >= 0 ? pinnedCpu : cpu, checker, stats, holder);
                        checker.CheckPinned(name, cpu, ctx.RawCpuId);
                        lockSlots.ThisCpu(ctx) = before + 1;
                        Interlocked.Increment(ref stats.LockedIncrements);
                        if (ctx.Task.EffectivePriority > ctx.Task.BasePriority)
                        {
                            Interlocked.Increment(ref stats.BoostedSections);
                        }
                    }

                    if (op.Ns == 0)
                    {
                        checker.CheckUnboosted(name, ctx.Task); // not inside a mutex section, whose waiters may still boost the task
                    }

                    break;
                }
                case MixedOpKind.MutexSection when (op.Ns == 0 ? stats.Mutex : stats.InnerMutex) is { } mutexed:
                {
                    bool boosted = await RunMutexSectionAsync(ctx, name, mutexed, op.Inner!, op.WaitNs, pinnedCpu, checker, stats, holder);
                    if (op.Ns == 0)
                    {
                        if (boosted)
                        {
                            Interlocked.Increment(ref stats.MutexBoostedSections);
                        }

                        // Not after the second mutex's section: the first's waiters may still boost the task.
                        checker.CheckUnboosted(name, ctx.Task);
                    }

                    break;
                }

                case MixedOpKind.MigrateSection:
                {
                    Interlocked.Increment(ref stats.MigrateSections);
                    using MigrateGuard guard = ctx.MigrateDisable();
                    int cpu = pinnedCpu >= 0 ? pinnedCpu : ctx.RawCpuId;
                    if (stats.Counter is { } counter && stats.Slots is { } slots)
                    {
                        counter.Increment(ctx);
                        slots.ThisCpu(ctx)++;
                        Interlocked.Increment(ref stats.PerCpuIncrements);
                    }
                    await RunOpsAsync(ctx, name, op.Inner!, cpu, checker, stats, holder);
                    checker.CheckPinned(name, cpu, ctx.RawCpuId);
                    break;
                }

                case MixedOpKind.PreemptSection:
                {
                    Interlocked.Increment(ref stats.PreemptSections);
                    await using PreemptGuard guard = ctx.PreemptDisable();
                    int cpu = ctx.RawCpuId;
                    await RunOpsAsync(ctx, name, op.Inner!, pinnedCpu >= 0 ? pinnedCpu : cpu, checker, stats, holder);
                    checker.CheckPinned(name, cpu, ctx.RawCpuId);
                    break;
                }
            }

            if (pinnedCpu >= 0)
            {
                checker.CheckPinned(name, pinnedCpu, ctx.RawCpuId);
            }
            else
            {
                CheckAffinity(ctx, name, checker, stats, holder); // after every step, not only the first
            }
        }
    }
}
