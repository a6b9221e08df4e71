using System.Globalization;
using RtRuntime.Cpus;
using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Stress;

/// <summary>
/// CPU hotplug under load: a driver takes random CPUs offline and brings them back (never the last one)
/// while short tasks of mixed priorities run work with preemption points, migrate-disabled sections
/// (some sleeping inside them, so an offline has to wait for them) that increment a
/// <see cref="PerCpuCounter"/> and a <see cref="PerCpu{T}"/> slot, and rent and return objects of a
/// <see cref="PerCpuPool{T}"/>. Figures: offline wait p50/p99/max, hotplug operations per second.
/// Invariants: every task accounted for, per-CPU sums exact, the pool neither loses nor duplicates
/// objects, nr_pinned back to 0, no task on an offline CPU, every CPU online at the end.
/// </summary>
public sealed class HotplugScenario : StressScenario
{
    /// <summary>Creates the scenario (name <c>hotplug</c> by default).</summary>
    /// <param name="name">The name shown in reports.</param>
    public HotplugScenario(string name = "hotplug")
        : base(name)
    {
    }

    /// <inheritdoc/>
    public override string Kind => "hotplug";

    /// <summary>Load tasks alive at once per CPU (1..1000). Default 4.</summary>
    public int TasksPerCpu { get; init; } = 4;

    /// <summary>Longest pause between two hotplug operations, in ms (0..1000). Default 2.</summary>
    public int MaxGapMs { get; init; } = 2;

    /// <summary>Share of tasks that throw an <see cref="InjectedFaultException"/>. Default 0.02.</summary>
    public double FaultRate { get; init; } = 0.02;

    /// <summary>Share of tasks (those not holding pool objects) the harness cancels. Default 0.03.</summary>
    public double CancelRate { get; init; } = 0.03;

    /// <inheritdoc/>
    protected override IEnumerable<string> ReproduceArguments() =>
        ["--tasks-per-cpu", TasksPerCpu.ToString(CultureInfo.InvariantCulture), "--max-gap-ms", MaxGapMs.ToString(CultureInfo.InvariantCulture)];

    /// <inheritdoc/>
    protected override void Validate()
    {
        if (TasksPerCpu is < 1 or > 1000)
        {
            throw new ArgumentOutOfRangeException(nameof(TasksPerCpu), TasksPerCpu, "TasksPerCpu must be 1..1000.");
        }

        if (MaxGapMs is < 0 or > 1000)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxGapMs), MaxGapMs, "MaxGapMs must be 0..1000.");
        }

        // One check each, as MixedScenario has: a bad CancelRate was reported as FaultRate, without its value.
        if (FaultRate is < 0 or > 1 || double.IsNaN(FaultRate))
        {
            throw new ArgumentOutOfRangeException(nameof(FaultRate), FaultRate, "FaultRate must be 0..1.");
        }

        if (CancelRate is < 0 or > 1 || double.IsNaN(CancelRate))
        {
            throw new ArgumentOutOfRangeException(nameof(CancelRate), CancelRate, "CancelRate must be 0..1.");
        }
    }

    /// <inheritdoc/>
    protected override async Task RunCoreAsync(StressSettings settings, ScenarioResult result, IProgress<ScenarioProgress>? progress, CancellationToken cancellationToken)
    {
        int cpus = settings.EffectiveCpuCount;
        if (cpus < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(settings), cpus, "hotplug needs at least 2 CPUs (one must stay online).");
        }

        long durationNs = RtClock.ToNs(settings.Duration);
        result.Parameters["tasks_per_cpu"] = TasksPerCpu.ToString(CultureInfo.InvariantCulture);
        result.Parameters["max_gap_ms"] = MaxGapMs.ToString(CultureInfo.InvariantCulture);
        result.Parameters["policy"] = settings.Policy.ToString();

        InvariantChecker checker = CreateChecker(settings, result, cancellationToken);
        await using RtScheduler rt = StartRuntime(settings.ToRuntimeOptions(settings.Policy));
        checker.Attach(rt);
        var state = new LoadState(rt, checker);
        using PerCpuPool<PoolItem> pool = state.Pool;
        var driver = new HotplugDriver(rt, unchecked(settings.Seed * 31 + 7), checker, MaxGapMs);
        using IDisposable checks = driver.RegisterChecks();
        var random = new Random(settings.Seed);
        long start = RtClock.NowNs();
        long end = start + durationNs;
        Task hotplug = Task.Run(() => driver.RunAsync(end, cancellationToken), CancellationToken.None);
        Task spawner = SpawnLoopAsync(rt, random, state, cpus * TasksPerCpu, end, cancellationToken);
        await WatchAsync(Task.WhenAll(hotplug, spawner), start, durationNs, progress, () =>
            $"{rt.HotplugOperations} hotplug ops, online {rt.OnlineCpus}, {Volatile.Read(ref state.Spawned)} tasks, {checker.Violations.Count} violations").ConfigureAwait(false);
        double seconds = (RtClock.NowNs() - start) / 1e9;
        long ops = rt.HotplugOperations;
        ShutdownSummary summary = await checker.StopAndCheckAsync(rt, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        state.CheckSums(cpus);
        Collect(checker, result);

        LatencyHistogram waits = driver.OfflineWaits;
        result.Histograms.Add(waits);
        result.HistogramPlot = new HistogramPlot("offline-wait", "offline wait (OfflineAsync call to CPU offline)", "offline wait (µs)");
        result.AddFigure("hotplug_ops", ops, "count", summary: true);
        result.AddFigure("ops_per_s", ops / Math.Max(seconds, 1e-9), "1/s", summary: true);
        result.AddFigure("offline_wait_p50_us", waits.P50Us, "us");
        result.AddFigure("offline_wait_p99_us", waits.P99Us, "us", summary: true);
        result.AddFigure("offline_wait_max_us", waits.MaxUs, "us");
        result.AddFigure("tasks", summary.Accepted, "count", summary: true);
        result.AddFigure("faulted", summary.Faulted, "count");
        result.AddFigure("cancelled", summary.Cancelled, "count");
        result.AddFigure("percpu_increments", state.ExpectedIncrements, "count");
        result.AddFigure("pool_rents", Interlocked.Read(ref state.Rents), "count");
        result.AddFigure("pool_created", pool.Created, "count");
        result.AddFigure("stalls", rt.StallCount, "count");
        result.AddFigure("checks", checker.Checks, "count");
        static string F(double v) => ScenarioResult.Format(v);
        result.Tables.Add(new ResultTable("Hotplug", ["offlines", "onlines", "ops/s", "offline wait p50 µs", "p99 µs", "max µs"],
        [
            [driver.Offlines.ToString(CultureInfo.InvariantCulture), driver.Onlines.ToString(CultureInfo.InvariantCulture), F(ops / Math.Max(seconds, 1e-9)), F(waits.P50Us), F(waits.P99Us), F(waits.MaxUs)],
        ]));
        result.Tables.Add(new ResultTable("Per-CPU data and pool at the end", ["counter Sum", "PerCpu<long> total", "increments made", "pool created", "global + cached", "rents"],
        [
            [state.Counter.Sum().ToString(CultureInfo.InvariantCulture), state.SlotTotal(cpus).ToString(CultureInfo.InvariantCulture), state.ExpectedIncrements.ToString(CultureInfo.InvariantCulture),
             pool.Created.ToString(CultureInfo.InvariantCulture), state.PoolHeld(cpus).ToString(CultureInfo.InvariantCulture), Interlocked.Read(ref state.Rents).ToString(CultureInfo.InvariantCulture)],
        ]));
        result.Tables.Add(new ResultTable("Task outcomes", ["accepted", "completed", "faulted", "cancelled", "abandoned", "BUG reports"],
        [
            [summary.Accepted.ToString(CultureInfo.InvariantCulture), summary.Completed.ToString(CultureInfo.InvariantCulture), summary.Faulted.ToString(CultureInfo.InvariantCulture),
             summary.Cancelled.ToString(CultureInfo.InvariantCulture), summary.Abandoned.ToString(CultureInfo.InvariantCulture), checker.BugCount.ToString(CultureInfo.InvariantCulture)],
        ]));
    }

    private async Task SpawnLoopAsync(RtScheduler rt, Random random, LoadState state, int live, long end, CancellationToken cancellationToken)
    {
        int index = 0;
        while (RtClock.NowNs() < end && !cancellationToken.IsCancellationRequested)
        {
            while (rt.LiveTasks < live)
            {
                (int prio, SchedPolicy policy) = random.NextDouble() < 0.2 ? (0, SchedPolicy.Normal) : (random.Next(1, 81), SchedPolicy.Fifo);
                bool throws = random.NextDouble() < FaultRate;
                bool usesPool = random.Next(3) == 0;
                bool cancel = !usesPool && random.NextDouble() < CancelRate;
                int steps = random.Next(2, 8);
                int slot = index;
                int seed = random.Next();
                string name = "hp/" + index.ToString(CultureInfo.InvariantCulture);
                RtTask task = rt.Spawn(name, prio, ctx => state.RunAsync(ctx, name, seed, steps, usesPool, throws), policy, null, cancellationToken);
                state.Checker.Track(task, faultAllowed: throws, cancelAllowed: cancel);
                if (cancel)
                {
                    _ = CancelLaterAsync(task, random.Next(0, 3));
                }

                Interlocked.Increment(ref state.Spawned);
                index++;
            }

            await Task.Delay(1, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static async Task CancelLaterAsync(RtTask task, int ms)
    {
        await Task.Delay(ms, CancellationToken.None).ConfigureAwait(false);
        task.Cancel();
    }

    /// <summary>What the load tasks share: the per-CPU data under test and the counts to check it against.</summary>
    internal sealed class LoadState
    {
        private readonly RtScheduler _rt;
        private long _increments;

        public LoadState(RtScheduler rt, InvariantChecker checker)
        {
            _rt = rt;
            Checker = checker;
            Counter = new PerCpuCounter(rt);
            Slots = new PerCpu<long>(rt);
            Pool = new PerCpuPool<PoolItem>(rt, () => new PoolItem(), cacheCapacity: 8, batch: 4);
        }

        public InvariantChecker Checker { get; }

        public PerCpuCounter Counter { get; }

        public PerCpu<long> Slots { get; }

        public PerCpuPool<PoolItem> Pool { get; }

        public long Spawned;

        public long Rents;

        public long ExpectedIncrements => Interlocked.Read(ref _increments);

        public async ValueTask RunAsync(TaskContext ctx, string name, int seed, int steps, bool usesPool, bool throws)
        {
            var random = new Random(seed);
            int throwAt = throws ? random.Next(steps) : -1;
            for (int i = 0; i < steps; i++)
                {
                    if (i == throwAt)
                    {
                        throw new InjectedFaultException($"fault injected into '{name}'");
                    }

                    HotplugDriver.CheckOnline(_rt, Checker, name, ctx.RawCpuId);
                    switch (random.Next(usesPool ? 4 : 3))
                    {
                        case 0:
                            Busy.For(random.Next(5_000, 100_000));
                            await ctx.PreemptionPoint();
                            break;
                        case 1:
                            await ctx.Sleep(TimeSpan.FromMicroseconds(random.Next(20, 1000)));
                            break;
                        case 2:
                            await PinnedSectionAsync(ctx, name, random);
                            break;
                        default:
                            await UsePoolAsync(ctx, name, random);
                            break;
                    }
                }
        }

        private async ValueTask PinnedSectionAsync(TaskContext ctx, string name, Random random)
        {
            long done = 0;
            using MigrateGuard guard = ctx.MigrateDisable();
            int cpu = ctx.RawCpuId;
            int points = random.Next(1, 6);
            bool sleepInside = _rt.Model == PreemptionModel.Rt && random.Next(3) == 0;
            try
            {
                for (int p = 0; p < points; p++)
                {
                    Counter.Increment(ctx);
                    Slots.ThisCpu(ctx)++;
                    done++;
                    Busy.For(random.Next(2_000, 30_000));
                    if (sleepInside && p == 0)
                    {
                        await ctx.Sleep(TimeSpan.FromMicroseconds(random.Next(50, 500)));
                    }
                    else
                    {
                        await ctx.PreemptionPoint();
                    }

                    Checker.CheckPinned(name, cpu, ctx.RawCpuId);
                }
            }
            finally
            {
                Interlocked.Add(ref _increments, done);
            }
        }

        private async ValueTask UsePoolAsync(TaskContext ctx, string name, Random random)
        {
            int n = random.Next(1, 4);
            var held = new PoolItem[n];
            int rented = 0;
            try
            {
                for (int i = 0; i < n; i++)
                {
                    held[i] = await Pool.RentAsync(ctx);
                    rented++;
                    Interlocked.Increment(ref Rents);
                    Checker.Count();
                    if (!held[i].TryRent())
                    {
                        Checker.Fail(Invariants.PoolAccounting, $"task '{name}' rented an object that another task holds");
                    }

                    held[i].Uses++;
                }

                Busy.For(random.Next(2_000, 20_000));
                await ctx.PreemptionPoint(); // hold them across a point: another task may rent meanwhile, possibly on another CPU
            }
            finally
            {
                // Returned also when the point throws the task's cancellation (Ctrl+C, the watchdog): the
                // end-of-run check counts every object returned. The pool's lock is uncontended here (its
                // sections do not await), so the return does not wait and is not cancelled.
                for (int i = 0; i < rented; i++)
                {
                    Checker.Count();
                    if (!held[i].TryReturn())
                    {
                        Checker.Fail(Invariants.PoolAccounting, $"task '{name}' returned an object that was not marked rented");
                    }

                    await Pool.ReturnAsync(ctx, held[i]);
                }
            }
        }

        public long SlotTotal(int cpus)
        {
            long total = 0;
            for (int c = 0; c < cpus; c++)
            {
                total += Volatile.Read(ref Slots.Remote(c));
            }

            return total;
        }

        public long PoolHeld(int cpus)
        {
            long held = Pool.GlobalCount;
            for (int c = 0; c < cpus; c++)
            {
                held += Pool.CachedOn(c);
            }

            return held;
        }

        /// <summary>After the runtime stopped: per-CPU sums and pool accounting.</summary>
        public void CheckSums(int cpus)
        {
            Checker.CheckEqual(Invariants.PerCpuSumExact, "PerCpuCounter.Sum() vs the increments the tasks made", ExpectedIncrements, Counter.Sum());
            Checker.CheckEqual(Invariants.PerCpuSumExact, "sum of the PerCpu<long> slots vs the increments the tasks made", ExpectedIncrements, SlotTotal(cpus));
            Checker.CheckEqual(Invariants.PoolAccounting, "PerCpuPool: global + cached objects vs Created, with every object returned", Pool.Created, PoolHeld(cpus));
        }
    }
}
