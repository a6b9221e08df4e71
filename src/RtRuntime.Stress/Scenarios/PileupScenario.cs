using System.Globalization;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Stress;

/// <summary>
/// The migrate-disable pile-up (kernel-reference §3, acceptance scenarios 12, 13 and 16), run once per
/// balancing policy, each on a fresh runtime. Every round of <see cref="Period"/>:
/// <list type="number">
/// <item>Disturbers R1..R(K−1) (FIFO 90, one pinned to each CPU 1..K−1) spin for 4 ms, so the staircase
/// tasks, which run a tiny step at 1 ms, last run on CPU 0.</item>
/// <item>At 6 ms the staircase T1..TK (FIFO 10, 20, …; K = min(CPUs, 8); any CPU allowed) wake 1 ms apart
/// and work in 20 µs chunks with a preemption point after each until the window ends
/// (<see cref="Window"/> after 6 ms). T1..T(K−1) work inside one migrate-disabled section; the top task
/// TK is migratable (the seed's high-priority task). Each wakes on CPU 0 (its previous CPU, running
/// lower priority) and preempts the one below it, which is pinned: a pile-up on CPU 0 while
/// CPUs 1..K−1 idle.</item>
/// <item>Halfway through the window the disturbers run 300 µs and sleep again: their CPUs drop from RT
/// priority 90, a pull (the only trigger of a repair under <see cref="BalancePolicy.KernelFaithful"/>).</item>
/// </list>
/// Lost bandwidth is measured from the tasks' own progress: each staircase task wants the CPU from its
/// expected wake time to the window's end (its demand); it gets the summed length of the work chunks it
/// ran (its progress). With K tasks on at least K CPUs all demand can be met except while the
/// disturbers spin mid-window (they hold K−1 CPUs at a higher priority: no policy can give that time
/// to the staircase, and by the definition of lost bandwidth it is not lost). So lost = demand − the
/// disturbers' mid-window CPU time − progress, reported as a share of that demand and as CPU-ms lost per
/// second of run; the raw demand − progress is reported too (<c>lost_pct_raw</c>).
/// </summary>
public sealed class PileupScenario : StressScenario
{
    private const int StairMax = 8;
    private const int DisturberPriority = 90;
    private static readonly long ChunkNs = 20_000;
    private static readonly long DisturbEndNs = 4_000_000;
    private static readonly long TouchNs = 1_000_000;
    private static readonly long StairStartNs = 6_000_000;
    private static readonly long StaggerNs = 1_000_000;
    private static readonly long MidSpinNs = 300_000;

    /// <summary>Creates the scenario (name <c>pileup</c> by default).</summary>
    /// <param name="name">The name shown in reports.</param>
    public PileupScenario(string name = "pileup")
        : base(name)
    {
    }

    /// <inheritdoc/>
    public override string Kind => "pileup";

    /// <summary>The policies to compare, each on a fresh runtime. Default: all three.</summary>
    public IReadOnlyList<BalancePolicy> Policies { get; init; } = [BalancePolicy.WorkConserving, BalancePolicy.KernelFaithful, BalancePolicy.NoPushRunning];

    /// <summary>How long the staircase works each round (10 ms..1 s). Default 30 ms.</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromMilliseconds(30);

    /// <summary>Round length: the window plus 20 ms to settle.</summary>
    public TimeSpan Period => Window + TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// Rounds recorded in the CPU timeline (0..100), from the first round a staircase task measured (the first
    /// rounds of a cold run are often skipped for lateness). Default 3.
    /// </summary>
    public int TimelineRounds { get; init; } = 3;

    /// <summary>
    /// How long after a policy's runtime started its first round begins. Default 5 ms, so every task is spawned
    /// and asleep by then; tests set it below zero to make the first rounds late, as a cold, loaded run's are.
    /// </summary>
    internal TimeSpan FirstRoundLead { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <inheritdoc/>
    public override int Runs => Policies.Count;

    /// <inheritdoc/>
    protected override bool UsesPolicySetting => false;

    /// <inheritdoc/>
    protected override void Validate()
    {
        if (Policies.Count == 0 || Policies.Any(p => !Enum.IsDefined(p)) || Policies.Distinct().Count() != Policies.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(Policies), "Policies must name one or more distinct balancing policies.");
        }

        if (Window < TimeSpan.FromMilliseconds(10) || Window > TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(Window), Window, "Window must be 10 ms..1 s.");
        }

        if (TimelineRounds is < 0 or > 100)
        {
            throw new ArgumentOutOfRangeException(nameof(TimelineRounds), TimelineRounds, "TimelineRounds must be 0..100.");
        }
    }

    /// <inheritdoc/>
    protected override IEnumerable<string> ReproduceArguments()
    {
        if (Policies.Count == 1)
        {
            yield return "--policy";
            yield return Policies[0].ToString();
        }

        yield return "--window";
        yield return FormatDuration(Window);
    }

    /// <inheritdoc/>
    protected override async Task RunCoreAsync(StressSettings settings, ScenarioResult result, IProgress<ScenarioProgress>? progress, CancellationToken cancellationToken)
    {
        int cpus = settings.EffectiveCpuCount;
        if (cpus < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(settings), cpus, "pileup needs at least 2 CPUs (a pile-up is tasks stuck on one CPU while another could run them).");
        }

        int stairs = Math.Min(cpus, StairMax);
        result.Parameters["staircase_tasks"] = stairs.ToString(CultureInfo.InvariantCulture);
        result.Parameters["window"] = FormatDuration(Window);
        result.Parameters["period"] = FormatDuration(Period);
        result.Parameters["chunk"] = "20us";
        result.Parameters["policies"] = string.Join(',', Policies);

        var rows = new List<IReadOnlyList<string>>();
        var lostPct = new List<double>();
        for (int run = 0; run < Policies.Count && !cancellationToken.IsCancellationRequested; run++)
        {
            BalancePolicy policy = Policies[run];
            PolicyOutcome o = await RunPolicyAsync(settings, result, policy, stairs, run, progress, cancellationToken).ConfigureAwait(false);
            string p = policy.ToString();
            lostPct.Add(o.LostPct);
            result.AddFigure("lost_pct." + p, o.LostPct, "%", summary: true);
            result.AddFigure("lost_pct_raw." + p, o.RawLostPct, "%");
            result.AddFigure("lost_cpu_ms_per_s." + p, o.LostCpuMsPerS, "ms/s");
            result.AddFigure("runtime_lost_cpu_ms_per_s." + p, o.RuntimeLostCpuMsPerS, "ms/s");
            result.AddFigure("victim_lost_pct." + p, o.VictimLostPct, "%");
            result.AddFigure("top_migrations." + p, o.TopMigrations, "count");
            result.AddFigure("top_wake_p99_us." + p, o.TopWake.P99Us, "us");
            result.AddFigure("top_wake_max_us." + p, o.TopWake.MaxUs, "us");
            result.AddFigure("top_stall_us_per_round." + p, o.TopStallUsPerRound, "us");
            result.AddFigure("running_pushes." + p, o.RunningPushes, "count");
            result.AddFigure("rounds." + p, o.Rounds, "count");
            rows.Add([
                p, o.Rounds.ToString(CultureInfo.InvariantCulture), ScenarioResult.Format(o.LostPct), ScenarioResult.Format(o.RawLostPct), ScenarioResult.Format(o.LostCpuMsPerS), ScenarioResult.Format(o.RuntimeLostCpuMsPerS),
                ScenarioResult.Format(o.VictimLostPct), o.TopMigrations.ToString(CultureInfo.InvariantCulture),
                ScenarioResult.Format(o.TopWake.P50Us), ScenarioResult.Format(o.TopWake.P99Us), ScenarioResult.Format(o.TopWake.MaxUs),
                ScenarioResult.Format(o.TopStallUsPerRound), o.RunningPushes.ToString(CultureInfo.InvariantCulture),
            ]);
        }

        result.Tables.Add(new ResultTable(
            "Pile-up per balancing policy",
            ["policy", "rounds", "lost %", "raw lost %", "lost CPU-ms/s", "runtime lost CPU-ms/s", "victims lost %", "top task migrations", "top wake p50 µs", "top wake p99 µs", "top wake max µs", "top stall µs/round", "running pushes"],
            rows));
        result.Bars.Add(new BarSeries("lost-bandwidth", "Lost bandwidth per policy (% of staircase demand)", "%", Policies.Select(p => p.ToString()).ToArray(), lostPct));
    }

    private async Task<PolicyOutcome> RunPolicyAsync(StressSettings settings, ScenarioResult result, BalancePolicy policy, int stairs, int runIndex, IProgress<ScenarioProgress>? progress, CancellationToken cancellationToken)
    {
        string group = policy.ToString();
        long periodNs = RtClock.ToNs(Period);
        long windowNs = RtClock.ToNs(Window);
        long durationNs = RtClock.ToNs(settings.Duration);
        InvariantChecker checker = CreateChecker(settings, result, cancellationToken); // their tasks end by themselves: only Ctrl+C cancels them
        await using RtScheduler rt = StartRuntime(settings.ToRuntimeOptions(policy));
        checker.Attach(rt);

        // First round starts a little later so every task is spawned and asleep.
        long origin = RtClock.NowNs() + RtClock.ToNs(FirstRoundLead);
        int rounds = (int)Math.Max(1, durationNs / periodNs);
        long timelineUntil = origin + (rounds * periodNs); // all of it: TimelineWindow picks the rounds shown
        var stats = new StairStats[stairs];
        var counted = new int[rounds];        // staircase tasks that counted each round's demand
        var disturbedNs = new long[rounds];   // the disturbers' mid-window CPU time per round
        var recorders = new List<TimelineRecorder>();
        var tasks = new List<Task>();
        for (int i = 0; i < stairs; i++)
        {
            int prio = 10 * (i + 1);
            string name = "T" + (i + 1).ToString(CultureInfo.InvariantCulture);
            var s = stats[i] = new StairStats(name);
            var rec = new TimelineRecorder(group, name, prio, origin, timelineUntil);
            recorders.Add(rec);
            long wakeOffset = StairStartNs + (i * StaggerNs);
            long touchOffset = TouchNs + (i * 200_000L);
            bool pinned = i < stairs - 1 || stairs == 1;
            RtTask task = rt.Spawn(name, prio, ctx => StairAsync(ctx, name, pinned, s, counted, rec, checker, origin, rounds, periodNs, touchOffset, wakeOffset, StairStartNs + windowNs), SchedPolicy.Fifo, null, cancellationToken);
            checker.Track(task);
            tasks.Add(task.AsTask());
        }

        long midOffset = StairStartNs + ((stairs - 1) * StaggerNs) + ((windowNs - ((stairs - 1) * StaggerNs)) / 2);
        for (int cpu = 1; cpu < stairs; cpu++)
        {
            string name = "R" + cpu.ToString(CultureInfo.InvariantCulture);
            CpuSet mask = CpuSet.Of(cpu);
            var rec = new TimelineRecorder(group, name, DisturberPriority, origin, timelineUntil);
            recorders.Add(rec);
            RtTask task = rt.Spawn(name, DisturberPriority, ctx => DisturbAsync(ctx, name, mask, disturbedNs, rec, checker, origin, rounds, periodNs, midOffset), SchedPolicy.Fifo, mask, cancellationToken);
            checker.Track(task);
            tasks.Add(task.AsTask());
        }

        Task all = Task.WhenAll(tasks.Select(t => t.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default)));
        long runNs = (origin - RtClock.NowNs()) + (rounds * periodNs);
        await WatchAsync(all, RtClock.NowNs(), runNs, progress, () =>
            $"{group}: {stats.Sum(s => Volatile.Read(ref s.Rounds))} task-rounds, {stats.Sum(s => Volatile.Read(ref s.Chunks))} chunks, running pushes {rt.BalanceCounters.RunningPushes}", runIndex).ConfigureAwait(false);
        long runningPushes = rt.BalanceCounters.RunningPushes;
        double runtimeLostMs = Enumerable.Range(0, rt.CpuCount).Sum(c => rt.LostBandwidth(c).TotalMilliseconds);
        await checker.StopAndCheckAsync(rt, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        Collect(checker, result);

        (double fromMs, double untilMs) = TimelineWindow(counted, periodNs, TimelineRounds);
        foreach (TimelineRecorder rec in recorders)
        {
            foreach (TimelineSegment seg in rec.Segments())
            {
                if (seg.StartMs >= fromMs && seg.StartMs < untilMs)
                {
                    result.Timeline.Add(seg);
                }
            }
        }

        var topWake = new LatencyHistogram("top-wake." + group);
        topWake.Add(stats[^1].Wake);
        result.Histograms.Add(topWake);
        return Measure(stats, counted, disturbedNs, periodNs, runningPushes, runtimeLostMs, topWake);
    }

    /// <summary>
    /// The part of the run the timeline shows, in ms from the first round's start: <paramref name="timelineRounds"/>
    /// rounds from the first one a staircase task measured (from round 0 when none did). The first rounds were
    /// shown before whether or not they ran: the first policy's runtime starts cold (JIT, a loaded machine), its
    /// tasks were often late for them and skipped them, so its plot showed one round of three, or was missing.
    /// </summary>
    internal static (double FromMs, double UntilMs) TimelineWindow(int[] counted, long periodNs, int timelineRounds)
    {
        int first = Math.Max(0, Array.FindIndex(counted, c => c > 0));
        return (first * periodNs / 1e6, (first + (long)timelineRounds) * periodNs / 1e6);
    }

    /// <summary>
    /// The policy's figures from what the tasks measured. A share of a demand that was never counted (every
    /// round skipped for lateness, as a run of one or two rounds can be) was not measured: NaN ("n/a", null
    /// in report.json), not a perfect 0 %.
    /// </summary>
    internal static PolicyOutcome Measure(StairStats[] stats, int[] counted, long[] disturbedNs, long periodNs, long runningPushes, double runtimeLostMs, LatencyHistogram topWake)
    {
        int rounds = counted.Length;
        int stairs = stats.Length;
        StairStats top = stats[^1];
        long rawDemand = stats.Sum(s => s.DemandNs);
        long unavoidable = Enumerable.Range(0, rounds).Where(r => Volatile.Read(ref counted[r]) == stairs).Sum(r => Interlocked.Read(ref disturbedNs[r]));
        long demand = Math.Max(0, rawDemand - unavoidable);
        long done = stats.Sum(s => s.DoneNs);
        long victimDemand = stats[..^1].Sum(s => s.DemandNs);
        long victimDone = stats[..^1].Sum(s => s.DoneNs);
        double seconds = rounds * periodNs / 1e9;
        long topStall = Math.Max(0, top.DemandNs - top.DoneNs);
        return new PolicyOutcome(
            rounds,
            demand == 0 ? double.NaN : 100.0 * Math.Max(0, demand - done) / demand,
            rawDemand == 0 ? double.NaN : 100.0 * Math.Max(0, rawDemand - done) / rawDemand,
            demand == 0 ? double.NaN : Math.Max(0, demand - done) / 1e6 / seconds,
            victimDemand == 0 ? double.NaN : 100.0 * Math.Max(0, victimDemand - victimDone) / victimDemand,
            top.WindowMigrations,
            topWake,
            top.Rounds == 0 ? double.NaN : topStall / 1000.0 / top.Rounds,
            runningPushes,
            runtimeLostMs / seconds);
    }

    private static async ValueTask StairAsync(TaskContext ctx, string name, bool pinned, StairStats s, int[] counted, TimelineRecorder rec, InvariantChecker checker, long origin, int rounds, long periodNs, long touchOffset, long wakeOffset, long windowEndOffset)
    {
        for (int round = 0; round < rounds; round++)
        {
            long r0 = origin + (round * periodNs);

            // The touch: run briefly while the disturbers hold CPUs 1.., so this task last ran on CPU 0.
            await ctx.SleepUntil(r0 + touchOffset);
            long wake = r0 + wakeOffset;
            long windowEnd = r0 + windowEndOffset;
            if (RtClock.NowNs() >= wake)
            {
                continue; // this round is lost to lateness; its demand is not counted
            }

            await ctx.SleepUntil(wake);
            s.DemandNs += windowEnd - wake;
            Interlocked.Increment(ref counted[round]);
            Volatile.Write(ref s.Rounds, s.Rounds + 1);
            MigrateGuard? guard = pinned ? ctx.MigrateDisable() : null;
            try
            {
                int enterCpu = ctx.RawCpuId;
                int lastCpu = -1;
                long now;
                while ((now = RtClock.NowNs()) < windowEnd)
                {
                    int cpu = ctx.RawCpuId;
                    if (lastCpu < 0)
                    {
                        s.Wake.Record(now - wake);
                    }
                    else if (cpu != lastCpu)
                    {
                        s.WindowMigrations++;
                    }

                    if (pinned)
                    {
                        checker.CheckPinned(name, enterCpu, cpu);
                    }

                    long end = Busy.For(ChunkNs);
                    s.DoneNs += Math.Min(end, windowEnd) - now;
                    Volatile.Write(ref s.Chunks, s.Chunks + 1);
                    rec.Ran(cpu, now, end);
                    lastCpu = cpu;
                    await ctx.PreemptionPoint();
                }
            }
            finally
            {
                guard?.Dispose();
            }

            await ctx.PreemptionPoint();
        }
    }

    private static async ValueTask DisturbAsync(TaskContext ctx, string name, CpuSet mask, long[] disturbedNs, TimelineRecorder rec, InvariantChecker checker, long origin, int rounds, long periodNs, long midOffset)
    {
        for (int round = 0; round < rounds; round++)
        {
            long r0 = origin + (round * periodNs);
            await ctx.SleepUntil(r0);
            await SpinAsync(ctx, name, mask, rec, checker, r0 + DisturbEndNs);
            await ctx.SleepUntil(r0 + midOffset);
            Interlocked.Add(ref disturbedNs[round], await SpinAsync(ctx, name, mask, rec, checker, r0 + midOffset + MidSpinNs));
        }
    }

    /// <summary>Spins in chunks until <paramref name="until"/>; returns the CPU time it spun.</summary>
    private static async ValueTask<long> SpinAsync(TaskContext ctx, string name, CpuSet mask, TimelineRecorder rec, InvariantChecker checker, long until)
    {
        long spun = 0;
        long now;
        while ((now = RtClock.NowNs()) < until)
        {
            int cpu = ctx.RawCpuId;
            checker.CheckAffinity(name, mask, cpu);
            long end = Busy.For(ChunkNs);
            spun += end - now;
            rec.Ran(cpu, now, end);
            await ctx.PreemptionPoint();
        }

        return spun;
    }

    internal sealed record PolicyOutcome(int Rounds, double LostPct, double RawLostPct, double LostCpuMsPerS, double VictimLostPct, long TopMigrations, LatencyHistogram TopWake, double TopStallUsPerRound, long RunningPushes, double RuntimeLostCpuMsPerS);
}
