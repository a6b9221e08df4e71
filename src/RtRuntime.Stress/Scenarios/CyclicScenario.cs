using System.Globalization;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Stress;

/// <summary>
/// The cyclictest analogue: one periodic task per CPU at <see cref="Priority"/>, pinned to its CPU by
/// affinity, sleeping to absolute deadlines every <see cref="Interval"/>. Its wakeup latency is the time
/// it runs minus the time it should have woken. With <see cref="Load"/>, low-priority hogs spin and
/// pass a preemption point every <see cref="LoadPointInterval"/> (optionally inside migrate-disabled
/// sections), so the latency includes waiting for the hog's next point.
/// </summary>
public sealed class CyclicScenario : StressScenario
{
    /// <summary>Creates the scenario (name <c>cyclic</c> by default).</summary>
    /// <param name="name">The name shown in reports.</param>
    public CyclicScenario(string name = "cyclic")
        : base(name)
    {
    }

    /// <inheritdoc/>
    public override string Kind => "cyclic";

    /// <summary>The period (100 µs..1 s). Default 1 ms.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>The measuring tasks' FIFO priority (1..99). Default 90, as <c>cyclictest -p 90</c>.</summary>
    public int Priority { get; init; } = 90;

    /// <summary>Whether to run low-priority hogs. Default false.</summary>
    public bool Load { get; init; }

    /// <summary>Hog tasks (1..4096). Default (0): one per CPU.</summary>
    public int LoadTasks { get; init; }

    /// <summary>How long a hog spins between preemption points (1 µs..100 ms). Default 50 µs.</summary>
    public TimeSpan LoadPointInterval { get; init; } = TimeSpan.FromMicroseconds(50);

    /// <summary>Whether hogs spin inside migrate-disabled sections (of <see cref="LoadSection"/> each). Default false.</summary>
    public bool LoadMigrateDisabled { get; init; }

    /// <summary>Length of a hog's migrate-disabled section (1 µs..1 s). Default 2 ms.</summary>
    public TimeSpan LoadSection { get; init; } = TimeSpan.FromMilliseconds(2);

    /// <inheritdoc/>
    protected override void Validate()
    {
        if (Interval < TimeSpan.FromMicroseconds(100) || Interval > TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(Interval), Interval, "Interval must be 100 µs..1 s.");
        }

        if (Priority is < 1 or > 99)
        {
            throw new ArgumentOutOfRangeException(nameof(Priority), Priority, "Priority must be 1..99.");
        }

        if (LoadTasks is < 0 or > 4096)
        {
            throw new ArgumentOutOfRangeException(nameof(LoadTasks), LoadTasks, "LoadTasks must be 0..4096 (0: one per CPU).");
        }

        if (LoadPointInterval < TimeSpan.FromMicroseconds(1) || LoadPointInterval > TimeSpan.FromMilliseconds(100))
        {
            throw new ArgumentOutOfRangeException(nameof(LoadPointInterval), LoadPointInterval, "LoadPointInterval must be 1 µs..100 ms.");
        }

        // Unchecked, a section of an hour kept every hog migrate-disabled long past the run's end (the
        // scenario then ran until the watchdog fired), and a zero or negative one was silently a single point.
        if (LoadSection < TimeSpan.FromMicroseconds(1) || LoadSection > TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(LoadSection), LoadSection, "LoadSection must be 1 µs..1 s.");
        }
    }

    /// <inheritdoc/>
    protected override IEnumerable<string> ReproduceArguments()
    {
        yield return "--interval";
        yield return FormatDuration(Interval);
        yield return "--priority";
        yield return Priority.ToString(CultureInfo.InvariantCulture);
        // LoadMigrateDisabled runs the hogs without Load too (RunCoreAsync): its hogs' point interval must be in the command.
        if (Load || LoadMigrateDisabled)
        {
            yield return "--load";
            yield return "--load-point";
            yield return FormatDuration(LoadPointInterval);
        }

        if ((Load || LoadMigrateDisabled) && LoadTasks > 0)
        {
            yield return "--load-tasks";
            yield return LoadTasks.ToString(CultureInfo.InvariantCulture);
        }

        if (LoadMigrateDisabled)
        {
            yield return "--load-migrate-disabled";
        }
    }

    /// <inheritdoc/>
    protected override async Task RunCoreAsync(StressSettings settings, ScenarioResult result, IProgress<ScenarioProgress>? progress, CancellationToken cancellationToken)
    {
        int cpus = settings.EffectiveCpuCount;
        long intervalNs = RtClock.ToNs(Interval);
        long durationNs = RtClock.ToNs(settings.Duration);
        bool load = Load || LoadMigrateDisabled;
        int hogs = load ? (LoadTasks > 0 ? LoadTasks : cpus) : 0;
        result.Parameters["interval"] = FormatDuration(Interval);
        result.Parameters["priority"] = Priority.ToString(CultureInfo.InvariantCulture);
        result.Parameters["load_tasks"] = hogs.ToString(CultureInfo.InvariantCulture);
        result.Parameters["load_point"] = load ? FormatDuration(LoadPointInterval) : "none";
        result.Parameters["load_migrate_disabled"] = LoadMigrateDisabled ? "yes" : "no";
        result.Parameters["policy"] = settings.Policy.ToString();

        InvariantChecker checker = CreateChecker(settings, result, cancellationToken); // their tasks end by themselves: only Ctrl+C cancels them
        var histograms = new LatencyHistogram[cpus];
        var hogPoints = new long[hogs];
        await using RtScheduler rt = StartRuntime(settings.ToRuntimeOptions(settings.Policy));
        checker.Attach(rt);
        long start = RtClock.NowNs();
        long end = start + durationNs;
        var tasks = new List<Task>();
        for (int cpu = 0; cpu < cpus; cpu++)
        {
            var histogram = histograms[cpu] = new LatencyHistogram("cpu" + cpu.ToString(CultureInfo.InvariantCulture));
            CpuSet mask = CpuSet.Of(cpu);
            string name = "cyclic/" + cpu.ToString(CultureInfo.InvariantCulture);
            RtTask task = rt.Spawn(name, Priority, ctx => MeasureAsync(ctx, name, mask, histogram, intervalNs, end, checker), SchedPolicy.Fifo, mask, cancellationToken);
            checker.Track(task);
            tasks.Add(task.AsTask());
        }

        long pointNs = RtClock.ToNs(LoadPointInterval);
        long sectionNs = RtClock.ToNs(LoadSection);
        for (int i = 0; i < hogs; i++)
        {
            int index = i;
            string name = "hog/" + i.ToString(CultureInfo.InvariantCulture);
            RtTask task = rt.Spawn(name, 1, ctx => HogAsync(ctx, name, pointNs, sectionNs, LoadMigrateDisabled, end, hogPoints, index, checker), SchedPolicy.Fifo, null, cancellationToken);
            checker.Track(task);
            tasks.Add(task.AsTask());
        }

        Task all = Task.WhenAll(tasks.Select(t => t.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default)));
        await WatchAsync(all, start, durationNs, progress, () =>
        {
            long samples = histograms.Sum(h => h.Count);
            double max = histograms.Max(h => h.MaxNs) / 1000.0;
            return $"{samples} wakeups, max {max:0} us" + (hogs > 0 ? $", hog points {hogPoints.Sum()}" : string.Empty);
        }).ConfigureAwait(false);

        await checker.StopAndCheckAsync(rt, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        Collect(checker, result);
        Fill(result, histograms, hogPoints.Sum(), rt.BalanceCounters);
    }

    private static async ValueTask MeasureAsync(TaskContext ctx, string name, CpuSet mask, LatencyHistogram histogram, long intervalNs, long end, InvariantChecker checker)
    {
        long next = RtClock.NowNs() + intervalNs;
        while (next < end)
        {
            await ctx.SleepUntil(next);
            long now = RtClock.NowNs();
            long latency = now - next;
            histogram.Record(latency);
            checker.CheckAffinity(name, mask, ctx.RawCpuId);
            if (latency >= intervalNs)
            {
                histogram.RecordOverrun();
                next += ((latency / intervalNs) + 1) * intervalNs; // skip the missed periods
            }
            else
            {
                next += intervalNs;
            }
        }
    }

    private static async ValueTask HogAsync(TaskContext ctx, string name, long pointNs, long sectionNs, bool migrateDisabled, long end, long[] points, int index, InvariantChecker checker)
    {
        long count = 0;
        while (RtClock.NowNs() < end)
        {
            if (migrateDisabled)
            {
                using MigrateGuard guard = ctx.MigrateDisable();
                int cpu = ctx.RawCpuId;
                long sectionEnd = RtClock.NowNs() + sectionNs;
                while (Busy.For(pointNs) < sectionEnd)
                {
                    await ctx.PreemptionPoint();
                    checker.CheckPinned(name, cpu, ctx.RawCpuId);
                    Volatile.Write(ref points[index], ++count);
                }
            }
            else
            {
                Busy.For(pointNs);
            }

            await ctx.PreemptionPoint();
            Volatile.Write(ref points[index], ++count);
        }
    }

    private static void Fill(ScenarioResult result, LatencyHistogram[] histograms, long hogPoints, (long Pushes, long Pulls, long RunningPushes) balance)
    {
        var all = new LatencyHistogram("all");
        var rows = new List<IReadOnlyList<string>>();
        foreach (LatencyHistogram h in histograms)
        {
            all.Add(h);
            result.Histograms.Add(h);
            rows.Add(Row(h));
        }

        rows.Add(Row(all));
        result.Tables.Add(new ResultTable("Wakeup latency per CPU (µs)", ["cpu", "samples", "min", "avg", "p50", "p99", "p99.9", "max", "overruns"], rows));
        result.AddFigure("samples", all.Count, "count");
        result.AddFigure("min_us", all.MinUs, "us");
        result.AddFigure("avg_us", all.MeanUs, "us");
        result.AddFigure("p50_us", all.P50Us, "us", summary: true);
        result.AddFigure("p99_us", all.P99Us, "us", summary: true);
        result.AddFigure("p999_us", all.P999Us, "us");
        result.AddFigure("max_us", all.MaxUs, "us", summary: true);
        result.AddFigure("overruns", all.Overruns, "count", summary: true);
        result.AddFigure("hog_points", hogPoints, "count");
        result.AddFigure("pushes", balance.Pushes, "count");
        result.AddFigure("pulls", balance.Pulls, "count");
    }

    private static string[] Row(LatencyHistogram h) =>
    [
        h.Label, h.Count.ToString(CultureInfo.InvariantCulture), ScenarioResult.Format(h.MinUs), ScenarioResult.Format(h.MeanUs),
        ScenarioResult.Format(h.P50Us), ScenarioResult.Format(h.P99Us), ScenarioResult.Format(h.P999Us), ScenarioResult.Format(h.MaxUs),
        h.Overruns.ToString(CultureInfo.InvariantCulture),
    ];
}
