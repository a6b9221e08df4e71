using System.Globalization;
using RtRuntime.Cpus;
using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Stress;

/// <summary>
/// The soak: a seeded random mix of short tasks (FIFO, RR and normal priorities, random affinities,
/// work with preemption points, yields, sleeps, nested migrate- and preempt-disabled sections, injected
/// faults, cancellations; every other one through <see cref="RtScheduler.RunAsync"/>, whose task objects
/// the runtime reuses) with every invariant checked, plus one periodic latency probe per CPU and any
/// <see cref="Workloads"/> of the user's. The same seed gives the same task scripts and spawn order
/// (timing, and so the interleaving, still varies).
/// </summary>
public sealed class MixedScenario : StressScenario
{
    private const int ProbePriority = 95;

    /// <summary>Creates the scenario (name <c>mixed</c> by default).</summary>
    /// <param name="name">The name shown in reports.</param>
    public MixedScenario(string name = "mixed")
        : base(name)
    {
    }

    /// <inheritdoc/>
    public override string Kind => "mixed";

    /// <summary>Most tasks alive at once (1..100000). Default (0): 8 per CPU.</summary>
    public int MaxLive { get; init; }

    /// <summary>Share of tasks that throw an <see cref="InjectedFaultException"/> (0..1). Default 0.03.</summary>
    public double FaultRate { get; init; } = 0.03;

    /// <summary>Share of tasks the harness cancels (0..1). Default 0.05.</summary>
    public double CancelRate { get; init; } = 0.05;

    /// <summary>Period of the per-CPU latency probes (100 µs..1 s). Default 1 ms.</summary>
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>What to break on purpose, to see the checker catch it. Default <see cref="MixedInjection.None"/>.</summary>
    public MixedInjection Inject { get; init; }

    /// <summary>Change random tasks' affinity (SetAffinityAsync from the spawning thread) while they run. Default true (needs 2+ CPUs).</summary>
    public bool AffinityChanges { get; init; } = true;

    /// <summary>Take random CPUs offline and back online during the run. Default true (needs 2+ CPUs).</summary>
    public bool HotplugChurn { get; init; } = true;

    /// <summary>Longest pause between two hotplug operations of the churn, in ms (0..1000). Default 5.</summary>
    public int HotplugMaxGapMs { get; init; } = 5;

    /// <summary>The user's periodic task bodies, run for the whole duration under the mix.</summary>
    public IList<StressWorkload> Workloads { get; } = new List<StressWorkload>();

    /// <inheritdoc/>
    protected override void Validate()
    {
        if (MaxLive is < 0 or > 100_000)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxLive), MaxLive, "MaxLive must be 0..100000 (0: 8 per CPU).");
        }

        if (FaultRate is < 0 or > 1 || double.IsNaN(FaultRate))
        {
            throw new ArgumentOutOfRangeException(nameof(FaultRate), FaultRate, "FaultRate must be 0..1.");
        }

        if (CancelRate is < 0 or > 1 || double.IsNaN(CancelRate))
        {
            throw new ArgumentOutOfRangeException(nameof(CancelRate), CancelRate, "CancelRate must be 0..1.");
        }

        if (ProbeInterval < TimeSpan.FromMicroseconds(100) || ProbeInterval > TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(ProbeInterval), ProbeInterval, "ProbeInterval must be 100 µs..1 s.");
        }

        if (!Enum.IsDefined(Inject))
        {
            throw new ArgumentOutOfRangeException(nameof(Inject), Inject, "Inject must be None, Bug or Pinned.");
        }

        foreach (StressWorkload w in Workloads)
        {
            if (w.Priority is < 1 or > 99 || w.Period < TimeSpan.FromMicroseconds(100) || w.Period > TimeSpan.FromSeconds(10) || w.Body is null)
            {
                throw new ArgumentOutOfRangeException(nameof(Workloads), w.Name, $"workload '{w.Name}' needs priority 1..99, period 100 µs..10 s and a body.");
            }
        }
    }

    /// <inheritdoc/>
    protected override IEnumerable<string> ReproduceArguments()
    {
        if (Inject != MixedInjection.None)
        {
            yield return "--inject";
            yield return Inject.ToString().ToLowerInvariant();
        }

        if (MaxLive > 0)
        {
            yield return "--max-live";
            yield return MaxLive.ToString(CultureInfo.InvariantCulture);
        }

        if (!AffinityChanges)
        {
            yield return "--no-affinity-changes";
        }

        if (!HotplugChurn)
        {
            yield return "--no-hotplug";
        }
    }

    /// <inheritdoc/>
    protected override async Task RunCoreAsync(StressSettings settings, ScenarioResult result, IProgress<ScenarioProgress>? progress, CancellationToken cancellationToken)
    {
        int cpus = settings.EffectiveCpuCount;
        int maxLive = MaxLive > 0 ? MaxLive : Math.Min(8 * cpus, 4096);
        long durationNs = RtClock.ToNs(settings.Duration);
        long intervalNs = RtClock.ToNs(ProbeInterval);
        result.Parameters["max_live"] = maxLive.ToString(CultureInfo.InvariantCulture);
        result.Parameters["fault_rate"] = FaultRate.ToString(CultureInfo.InvariantCulture);
        result.Parameters["cancel_rate"] = CancelRate.ToString(CultureInfo.InvariantCulture);
        result.Parameters["probe_interval"] = FormatDuration(ProbeInterval);
        result.Parameters["inject"] = Inject.ToString();
        result.Parameters["policy"] = settings.Policy.ToString();
        bool churn = HotplugChurn && cpus >= 2;
        bool affinityChanges = AffinityChanges && cpus >= 2;
        result.Parameters["hotplug_churn"] = churn ? "on" : "off";
        result.Parameters["affinity_changes"] = affinityChanges ? "on" : "off";

        InvariantChecker checker = CreateChecker(settings, result, cancellationToken);
        checker.ExpectedBugs = 0; // an injected BUG is meant to fail the run
        var random = new Random(settings.Seed);
        await using RtScheduler rt = StartRuntime(settings.ToRuntimeOptions(settings.Policy));
        checker.Attach(rt);
        var counter = new PerCpuCounter(rt);
        var slots = new PerCpu<long>(rt);
        int permitCount = Math.Max(1, cpus / 2);
        var stats = new MixedStats
        {
            Counter = counter,
            Slots = slots,
            HotplugRuntime = churn ? rt : null,
            Permits = new RtSemaphore(permitCount),
            PermitCount = permitCount,
            Lock = new LocalLock(rt, "mixed"),
            LockSlots = new PerCpu<long>(rt),
            Mutex = new MutexedCounter(new RtMutex(rt, "mixed")),
            InnerMutex = new MutexedCounter(new RtMutex(rt, "mixed/inner")),
        };
        HotplugDriver? hotplug = churn ? new HotplugDriver(rt, unchecked((settings.Seed * 31) + 11), checker, HotplugMaxGapMs) : null;
        using IDisposable? hotplugChecks = hotplug?.RegisterChecks();
        long start = RtClock.NowNs();
        long end = start + durationNs;
        var probes = new LatencyHistogram[cpus];
        var longLived = new List<Task>();
        for (int cpu = 0; cpu < cpus; cpu++)
        {
            var h = probes[cpu] = new LatencyHistogram("cpu" + cpu.ToString(CultureInfo.InvariantCulture));
            CpuSet mask = CpuSet.Of(cpu);
            string name = "probe/" + cpu.ToString(CultureInfo.InvariantCulture);
            RtTask probe = rt.Spawn(name, ProbePriority, ctx => ProbeAsync(ctx, name, mask, h, intervalNs, end, checker, widenAllowed: churn), SchedPolicy.Fifo, mask, cancellationToken);
            checker.Track(probe); // ends by itself: only Ctrl+C (the checker's Interruption) may cancel it
            longLived.Add(probe.AsTask());
        }

        var workloadHistograms = new List<LatencyHistogram>();
        foreach (StressWorkload w in Workloads)
        {
            var h = new LatencyHistogram("workload:" + w.Name);
            workloadHistograms.Add(h);
            RtTask task = rt.Spawn("workload/" + w.Name, w.Priority, ctx => WorkloadAsync(ctx, w, h, end), SchedPolicy.Fifo, null, cancellationToken);
            checker.Track(task); // likewise
            longLived.Add(task.AsTask());
        }

        Task spawner = SpawnLoopAsync(rt, random, affinityChanges ? new Random(unchecked(settings.Seed + 1)) : null, churn || affinityChanges, checker, stats, maxLive, end, cancellationToken);
        Task churner = hotplug is null ? Task.CompletedTask : Task.Run(() => hotplug.RunAsync(end, cancellationToken), CancellationToken.None);
        await WatchAsync(Task.WhenAll(spawner, churner), start, durationNs, progress, () =>
            $"{Volatile.Read(ref stats.Spawned)} tasks, {rt.LiveTasks} live, online {rt.OnlineCpus}, max probe {probes.Max(p => p.MaxNs) / 1000.0:0} us, {checker.Checks} checks, {checker.Violations.Count} violations").ConfigureAwait(false);
        await Task.WhenAll(longLived.Select(t => t.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default))).WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None).ConfigureAwait(false);
        ShutdownSummary summary = await checker.StopAndCheckAsync(rt, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        long retired = rt.TasksRetired;
        long increments = Interlocked.Read(ref stats.PerCpuIncrements);
        long slotTotal = Enumerable.Range(0, cpus).Sum(c => Volatile.Read(ref slots.Remote(c)));
        checker.CheckEqual(Invariants.PerCpuSumExact, "PerCpuCounter.Sum() vs the increments made in migrate-disabled sections", increments, counter.Sum());
        checker.CheckEqual(Invariants.PerCpuSumExact, "sum of the PerCpu<long> slots vs the increments made in migrate-disabled sections", increments, slotTotal);
        long lockSlotTotal = Enumerable.Range(0, cpus).Sum(c => Volatile.Read(ref stats.LockSlots.Remote(c)));
        checker.CheckEqual(Invariants.LocalLockExclusive, "sum of the PerCpu<long> slots updated under the local lock vs the lock sections that wrote theirs", Interlocked.Read(ref stats.LockedIncrements), lockSlotTotal);
        foreach (MutexedCounter mutexed in new[] { stats.Mutex, stats.InnerMutex })
        {
            string mutex = mutexed.Mutex.Name;
            checker.CheckEqual(Invariants.RtMutexExclusive, $"the counter updated under {mutex} vs the sections that wrote it", Interlocked.Read(ref mutexed.Increments), Volatile.Read(ref mutexed.Value));
            checker.CheckEqual(Invariants.RtMutexExclusive, $"tasks holding {mutex} after the stop", 0, mutexed.Mutex.Owner is null ? 0 : 1);
        }

        checker.CheckEqual(Invariants.PermitsConserved, "the timed waits' RtSemaphore count after the stop vs the permits it started with", stats.PermitCount, stats.Permits.CurrentCount);
        Collect(checker, result);

        var all = new LatencyHistogram("probes");
        foreach (LatencyHistogram h in probes)
        {
            all.Add(h);
            result.Histograms.Add(h);
        }

        foreach (LatencyHistogram h in workloadHistograms)
        {
            result.Histograms.Add(h);
        }

        result.AddFigure("tasks", summary.Accepted, "count", summary: true);
        result.AddFigure("completed", summary.Completed, "count");
        result.AddFigure("pooled_tasks", Interlocked.Read(ref stats.Pooled), "count");
        result.AddFigure("pooled_retired", retired, "count");
        result.AddFigure("faulted", summary.Faulted, "count", summary: true);
        result.AddFigure("cancelled", summary.Cancelled, "count", summary: true);
        result.AddFigure("migrate_sections", Interlocked.Read(ref stats.MigrateSections), "count");
        result.AddFigure("preempt_sections", Interlocked.Read(ref stats.PreemptSections), "count");
        result.AddFigure("checks", checker.Checks, "count", summary: true);
        result.AddFigure("bug_reports", checker.BugCount, "count");
        result.AddFigure("percpu_increments", increments, "count");
        result.AddFigure("affinity_changes", Interlocked.Read(ref stats.AffinityChanges), "count");
        result.AddFigure("affinity_refused", Interlocked.Read(ref stats.AffinityRefused), "count");
        result.AddFigure("spawn_refused", Interlocked.Read(ref stats.SpawnRefused), "count");
        result.AddFigure("affinity_widened", Interlocked.Read(ref stats.AffinityWidened), "count");
        result.AddFigure("timed_waits_got", Interlocked.Read(ref stats.TimedWaitsGot), "count");
        result.AddFigure("timed_waits_timed_out", Interlocked.Read(ref stats.TimedWaitsTimedOut), "count");
        result.AddFigure("lock_sections", Interlocked.Read(ref stats.LockSections), "count");
        result.AddFigure("boosted_sections", Interlocked.Read(ref stats.BoostedSections), "count");
        result.AddFigure("lock_steals", stats.Lock.StealCount, "count");
        result.AddFigure("mutex_sections", Interlocked.Read(ref stats.Mutex.Sections), "count");
        result.AddFigure("mutex_boosted_sections", Interlocked.Read(ref stats.MutexBoostedSections), "count");
        result.AddFigure("inner_mutex_sections", Interlocked.Read(ref stats.InnerMutex.Sections), "count");
        result.AddFigure("mutex_timed_out", Interlocked.Read(ref stats.Mutex.TimedOut), "count");
        result.AddFigure("mutex_try_failed", Interlocked.Read(ref stats.Mutex.TryFailed), "count");
        result.AddFigure("mutex_steals", stats.Mutex.Mutex.StealCount + stats.InnerMutex.Mutex.StealCount, "count");
        result.AddFigure("priority_changes", Interlocked.Read(ref stats.PriorityChanges), "count");
        result.AddFigure("cross_priority_changes", Interlocked.Read(ref stats.CrossPriorityChanges), "count");
        result.AddFigure("cross_policy_changes", Interlocked.Read(ref stats.CrossPolicyChanges), "count");
        if (hotplug is not null)
        {
            result.AddFigure("hotplug_ops", hotplug.Offlines + hotplug.Onlines, "count", summary: true);
            result.AddFigure("offline_wait_p99_us", hotplug.OfflineWaits.P99Us, "us");
            result.AddFigure("offline_wait_max_us", hotplug.OfflineWaits.MaxUs, "us");
        }
        result.AddFigure("probe_p99_us", all.P99Us, "us", summary: true);
        result.AddFigure("probe_max_us", all.MaxUs, "us");
        var rows = result.Histograms.Select(h => (IReadOnlyList<string>)
        [
            h.Label, h.Count.ToString(CultureInfo.InvariantCulture), ScenarioResult.Format(h.MinUs), ScenarioResult.Format(h.MeanUs),
            ScenarioResult.Format(h.P50Us), ScenarioResult.Format(h.P99Us), ScenarioResult.Format(h.P999Us), ScenarioResult.Format(h.MaxUs),
            h.Overruns.ToString(CultureInfo.InvariantCulture),
        ]).ToList();
        result.Tables.Add(new ResultTable("Probe and workload wakeup latency under the mix (µs)", ["histogram", "samples", "min", "avg", "p50", "p99", "p99.9", "max", "overruns"], rows));
        result.Tables.Add(new ResultTable("Task outcomes", ["accepted", "completed", "faulted", "cancelled", "abandoned", "BUG reports"],
        [
            [summary.Accepted.ToString(CultureInfo.InvariantCulture), summary.Completed.ToString(CultureInfo.InvariantCulture), summary.Faulted.ToString(CultureInfo.InvariantCulture),
             summary.Cancelled.ToString(CultureInfo.InvariantCulture), summary.Abandoned.ToString(CultureInfo.InvariantCulture), checker.BugCount.ToString(CultureInfo.InvariantCulture)],
        ]));
    }

    /// <summary>
    /// A spawn whose affinity had no active CPU at the call (hotplug churn took every CPU of it offline):
    /// refused (EINVAL, as <c>SetAffinityAsync</c> refuses such a mask), counted, and the loop goes on. Any
    /// other refusal is the harness's bug and propagates.
    /// </summary>
    private static bool SpawnRefusedByChurn(ArgumentOutOfRangeException refusal, MixedScript script, MixedStats stats)
    {
        if (refusal.ParamName != "affinity" || script.Affinity is null || stats.HotplugRuntime is null)
        {
            return false;
        }

        Interlocked.Increment(ref stats.SpawnRefused);
        return true;
    }

    private async Task SpawnLoopAsync(RtScheduler rt, Random random, Random? affinityRandom, bool useHolders, InvariantChecker checker, MixedStats stats, int maxLive, long end, CancellationToken cancellationToken)
    {
        int cpus = rt.CpuCount;
        CpuSet all = CpuSet.Range(0, cpus);
        var movable = new List<(RtTask Task, AffinityHolder Holder)>();
        var settable = new List<RtTask>(); // FIFO and RR tasks with a handle, whose priority this thread sets
        var priorityRandom = new Random(random.Next());
        int index = 0;
        bool injected = false;
        var cancellations = new List<(long AtNs, Action Cancel)>();
        while (RtClock.NowNs() < end && !cancellationToken.IsCancellationRequested)
        {
            long now = RtClock.NowNs();
            cancellations.RemoveAll(c =>
            {
                if (c.AtNs > now)
                {
                    return false;
                }

                c.Cancel();
                return true;
            });

            while (rt.LiveTasks < maxLive + cpus + Workloads.Count)
            {
                MixedScript script = MixedScript.Create(random, cpus, FaultRate, rt.Model);
                bool injectHere = !injected && Inject != MixedInjection.None && now - end + RtClock.ToNs(TimeSpan.FromMilliseconds(50)) < 0 && index >= 10;
                if (injectHere)
                {
                    script = script with { Inject = Inject };
                    injected = true;
                }

                // The injected task is never cancelled: a cancel before its first step would skip the injection.
                bool cancel = random.NextDouble() < CancelRate && !injectHere;
                string name = "mix/" + index.ToString(CultureInfo.InvariantCulture);
                AffinityHolder? holder = useHolders ? new AffinityHolder(script.Affinity ?? all, all, widenAllowed: stats.HotplugRuntime is not null) : null;
                if ((index & 1) == 1 && !injectHere)
                {
                    // Every other task through RunAsync: its object comes from the runtime's cache and
                    // goes back when it ends well without blocking. No handle to cancel it by, so one
                    // to cancel gets a token of its own (and is then never reused: it has a registration).
                    CancellationTokenSource? cts = cancel ? new CancellationTokenSource() : null;
                    ValueTask pooled;
                    try
                    {
                        pooled = rt.RunAsync(name, script.Priority, ctx => RunPooledAsync(ctx, script, name, checker, stats, holder), script.Policy, script.Affinity, cts?.Token ?? CancellationToken.None);
                    }
                    catch (ArgumentOutOfRangeException refusal) when (SpawnRefusedByChurn(refusal, script, stats))
                    {
                        cts?.Dispose();
                        index++;
                        continue;
                    }

                    checker.TrackPooled(name, pooled, faultAllowed: script.Throws, cancelAllowed: cancel);
                    if (cts is not null)
                    {
                        cancellations.Add((now + random.NextInt64(0, 3_000_000), () =>
                        {
                            cts.Cancel();
                            cts.Dispose();
                        }));
                    }

                    Interlocked.Increment(ref stats.Spawned);
                    Interlocked.Increment(ref stats.Pooled);
                    index++;
                    continue;
                }

                RtTask task;
                try
                {
                    task = rt.Spawn(name, script.Priority, ctx => script.RunAsync(ctx, name, checker, stats, holder), script.Policy, script.Affinity, injectHere ? CancellationToken.None : cancellationToken);
                }
                catch (ArgumentOutOfRangeException refusal) when (SpawnRefusedByChurn(refusal, script, stats))
                {
                    injected &= !injectHere; // a refused injection is made by a later task
                    index++;
                    continue;
                }

                checker.Track(task, faultAllowed: script.Throws, cancelAllowed: cancel); // only the ones the harness cancels may end cancelled
                if (holder is not null && affinityRandom is not null)
                {
                    movable.Add((task, holder));
                }

                if (script.Policy != SchedPolicy.Normal)
                {
                    settable.Add(task);
                }
                if (cancel)
                {
                    cancellations.Add((now + random.NextInt64(0, 3_000_000), task.Cancel));
                }

                Interlocked.Increment(ref stats.Spawned);
                index++;
            }

            if (affinityRandom is not null)
            {
                ChangeAffinities(rt, affinityRandom, movable, stats);
            }

            ChangePriority(rt, priorityRandom, settable, stats);

            await Task.Delay(1, CancellationToken.None).ConfigureAwait(false);
        }

        foreach ((_, Action cancelTask) in cancellations)
        {
            cancelTask();
        }
    }

    /// <summary>A pooled task's body: the script, with the object's identity checked from the first step to the last.</summary>
    private static async ValueTask RunPooledAsync(TaskContext ctx, MixedScript script, string name, InvariantChecker checker, MixedStats stats, AffinityHolder? holder)
    {
        RtTask self = ctx.Task;
        long id = self.Id;
        try
        {
            await script.RunAsync(ctx, name, checker, stats, holder);
        }
        finally
        {
            checker.CheckSameLife(name, self, id, ctx.Task);
        }
    }

    /// <summary>Changes the affinity of up to two random live tasks (the request completes when the task runs inside the new mask).</summary>
    private static void ChangeAffinities(RtScheduler rt, Random random, List<(RtTask Task, AffinityHolder Holder)> movable, MixedStats stats)
    {
        movable.RemoveAll(m => m.Task.IsCompleted);
        int cpus = rt.CpuCount;
        for (int i = 0; i < 2 && movable.Count > 0; i++)
        {
            (RtTask task, AffinityHolder holder) = movable[random.Next(movable.Count)];
            int k = random.Next(1, Math.Min(cpus, 4) + 1);
            var ids = new int[k];
            for (int j = 0; j < k; j++)
            {
                ids[j] = random.Next(cpus);
            }

            CpuSet mask = CpuSet.Of(ids);
            CpuSet current = task.Affinity;
            long version = holder.Begin(current, mask);
            Task done;
            try
            {
                done = rt.SetAffinityAsync(task, mask);
            }
            catch (ArgumentOutOfRangeException)
            {
                // The mask is non-empty and names CPUs of this runtime: refused only because none of them was
                // online at the call (hotplug churn; online again by now, perhaps): EINVAL, mask unchanged.
                holder.Refuse(version, current);
                Interlocked.Increment(ref stats.AffinityRefused);
                continue;
            }

            Interlocked.Increment(ref stats.AffinityChanges);
            if (mask == current)
            {
                // The mask the task already has completes at once (the kernel's cpumask_equal shortcut),
                // even while an earlier request's move is pending: its completion says nothing about where
                // the task runs, so it narrows nothing; the allowed set stays the union until a later
                // request completes (this one's version superseded the earlier request's).
                continue;
            }

            done.ContinueWith(_ => holder.Complete(version), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    /// <summary>
    /// Sets the priority of one random live FIFO or RR task from this thread (sched_setparam on another
    /// task), one time in four with a policy, FIFO or RR (sched_setscheduler: never Normal, as the
    /// task's script may set its own RT priority).
    /// </summary>
    private static void ChangePriority(RtScheduler rt, Random random, List<RtTask> settable, MixedStats stats)
    {
        settable.RemoveAll(t => t.IsCompleted);
        if (settable.Count == 0)
        {
            return;
        }

        RtTask task = settable[random.Next(settable.Count)];
        int priority = random.Next(1, 81);
        if (random.Next(4) == 0)
        {
            rt.SetScheduler(task, random.Next(2) == 0 ? SchedPolicy.Fifo : SchedPolicy.RoundRobin, priority);
            Interlocked.Increment(ref stats.CrossPolicyChanges);
        }
        else
        {
            rt.SetPriority(task, priority);
            Interlocked.Increment(ref stats.CrossPriorityChanges);
        }
    }

    private static async ValueTask ProbeAsync(TaskContext ctx, string name, CpuSet mask, LatencyHistogram histogram, long intervalNs, long end, InvariantChecker checker, bool widenAllowed)
    {
        long next = RtClock.NowNs() + intervalNs;
        while (next < end)
        {
            await ctx.SleepUntil(next);
            long latency = RtClock.NowNs() - next;
            histogram.Record(latency);
            if (ctx.Task.Affinity == mask || !widenAllowed)
            {
                checker.CheckAffinity(name, mask, ctx.RawCpuId);
            }

            // else its CPU went offline and the runtime widened its affinity (select_fallback_rq): nothing to check.
            // Without hotplug churn nothing may widen it: the check always runs.
            if (latency >= intervalNs)
            {
                histogram.RecordOverrun();
                next += ((latency / intervalNs) + 1) * intervalNs;
            }
            else
            {
                next += intervalNs;
            }
        }
    }

    private static async ValueTask WorkloadAsync(TaskContext ctx, StressWorkload workload, LatencyHistogram histogram, long end)
    {
        long periodNs = RtClock.ToNs(workload.Period);
        long next = RtClock.NowNs() + periodNs;
        while (next < end)
        {
            await ctx.SleepUntil(next);
            long latency = RtClock.NowNs() - next;
            histogram.Record(latency);
            await workload.Body(ctx);
            if (latency >= periodNs)
            {
                histogram.RecordOverrun();
                next += ((latency / periodNs) + 1) * periodNs;
            }
            else
            {
                next += periodNs;
            }
        }
    }
}
