using System.Globalization;
using RtRuntime.Simulation;

namespace RtRuntime.Stress;

/// <summary>
/// Runs a scripted scenario (<see cref="SimScenario"/>, e.g. loaded from a JSON file) in the deterministic
/// simulator with the run's seed, and reports its trace, per-task and per-CPU figures. Each invariant
/// violation the simulator finds is a violation of <see cref="Invariants.SimulatorInvariant"/>; BUG
/// reports of the script and tasks left alive are reported but are not failures.
/// </summary>
public sealed class SimulateScenario : StressScenario
{
    /// <summary>Creates the scenario.</summary>
    /// <param name="scenario">The scripted workload.</param>
    /// <param name="file">Where it came from (shown in reports and the reproduce command), or null when built in code.</param>
    /// <param name="name">The name shown in reports.</param>
    public SimulateScenario(SimScenario scenario, string? file = null, string name = "simulate")
        : base(name)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        Scenario = scenario;
        File = file;
    }

    /// <summary>The scripted workload.</summary>
    public SimScenario Scenario { get; }

    /// <summary>The scenario file, or null.</summary>
    public string? File { get; }

    /// <summary>The default of <see cref="MaxEvents"/> (and of the CLI's <c>--max-events</c>): 10 million.</summary>
    public const long DefaultMaxEvents = 10_000_000;

    /// <summary>The simulator's event limit (1..50 million). Default <see cref="DefaultMaxEvents"/>.</summary>
    public long MaxEvents { get; init; } = DefaultMaxEvents;

    /// <summary>Extra arguments the reproduce command needs (the CLI's --policy/--model/--cpus overrides).</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];

    /// <inheritdoc/>
    public override string Kind => "simulate";

    /// <inheritdoc/>
    public override string ReproduceCommand(StressSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var args = new List<string> { "rtstress", "simulate", Quote(File ?? "<scenario>") };
        args.AddRange(ExtraArguments);
        if (MaxEvents != DefaultMaxEvents)
        {
            // The limit changes the run (where it is cut off): without it the command reruns a different simulation.
            args.Add("--max-events");
            args.Add(MaxEvents.ToString(CultureInfo.InvariantCulture));
        }

        args.Add("--seed");
        args.Add(settings.Seed.ToString(CultureInfo.InvariantCulture));
        if (settings.WatchdogGrace is { } grace)
        {
            args.Add("--watchdog");
            args.Add(grace == Timeout.InfiniteTimeSpan ? "off" : FormatDuration(grace));
        }

        return string.Join(' ', args);
    }

    /// <summary>None: the simulation runs in virtual time, bounded by <see cref="MaxEvents"/>. It has a watchdog only when <see cref="StressSettings.WatchdogGrace"/> is set (then the grace is its deadline).</summary>
    /// <param name="settings">The settings of the run.</param>
    public override TimeSpan? PlannedDuration(StressSettings settings) => null;

    /// <inheritdoc/>
    protected override void Validate()
    {
        if (MaxEvents is < 1 or > 50_000_000)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxEvents), MaxEvents, "MaxEvents must be 1..50000000.");
        }

        Scenario.Validate();
    }

    /// <inheritdoc/>
    protected override async Task RunCoreAsync(StressSettings settings, ScenarioResult result, IProgress<ScenarioProgress>? progress, CancellationToken cancellationToken)
    {
        // No runtime runs: these settings do not apply, and the report must not say they were in force.
        result.Parameters.Remove("duration");
        result.Parameters.Remove("pinning");
        result.Parameters.Remove("lockMemory");
        result.Parameters.Remove("cpuDmaLatency");
        result.Parameters["file"] = File ?? "(in code)";
        result.Parameters["model"] = Scenario.Model.ToString();
        result.Parameters["policy"] = Scenario.Policy.ToString();
        result.Parameters["tasks"] = Scenario.Tasks.Count.ToString(CultureInfo.InvariantCulture);
        result.Parameters["tick_us"] = Scenario.TickUs.ToString(CultureInfo.InvariantCulture);
        result.Parameters["end_us"] = Scenario.EndUs.ToString(CultureInfo.InvariantCulture);
        result.Parameters["max_events"] = MaxEvents.ToString(CultureInfo.InvariantCulture);
        result.Cpus = Scenario.Cpus;
        progress?.Report(new ScenarioProgress(Name, 0, "simulating"));
        var options = new SimOptions { MaxEvents = MaxEvents, CancellationToken = cancellationToken }; // Ctrl+C stops it before its next event, with what it simulated so far
        SimResult sim = await Task.Run(() => Simulator.Run(Scenario, settings.Seed, options), CancellationToken.None).ConfigureAwait(false);
        result.Simulation = sim;
        result.Checks += sim.Events;
        foreach (SimViolation v in sim.Violations)
        {
            result.Violations.Add(new InvariantViolation(Name, Invariants.SimulatorInvariant,
                $"{v.Kind} at {v.TimeUs} us (event {v.EventIndex}): {v.Message}", settings.Seed) { Reproduce = result.Reproduce });
        }

        long busy = sim.Cpus.Sum(c => c.BusyUs);
        result.AddFigure("end_us", sim.EndUs, "us", summary: true);
        result.AddFigure("events", sim.SchedulingEvents, "count", summary: true);
        result.AddFigure("lost_us", sim.LostUs, "us", summary: true);
        // No CPU time ran (interrupted before the first event, or every task asleep until the end): the share was not
        // measured. NaN ("n/a", null in report.json), as a histogram with no sample, not 0 %, which claims no loss.
        result.AddFigure("lost_pct_of_busy", busy == 0 ? double.NaN : 100.0 * sim.LostUs / busy, "%");
        result.AddFigure("migrations", sim.Tasks.Sum(t => t.Migrations), "count", summary: true);
        result.AddFigure("pushes", sim.Pushes, "count");
        result.AddFigure("pulls", sim.Pulls, "count");
        result.AddFigure("running_pushes", sim.RunningPushes, "count");
        result.AddFigure("ticks", sim.Ticks, "count");
        result.AddFigure("bugs", sim.Bugs.Count, "count");
        result.AddFigure("stuck_tasks", sim.StuckTasks.Count, "count");
        result.AddFigure("violations", sim.Violations.Count, "count", summary: true);

        static string N(long v) => v.ToString(CultureInfo.InvariantCulture);
        result.Tables.Add(new ResultTable("Tasks (virtual µs)",
            ["task", "prio", "run", "wait", "max wait", "interference", "lock wait", "boosted", "migrations", "pushes", "pulls", "preemptions", "exit", "last cpu", "affinity"],
            sim.Tasks.Select(t => (IReadOnlyList<string>)
            [
                t.Name, N(t.Priority), N(t.RunUs), N(t.WaitUs), N(t.MaxWaitUs), N(t.InterferenceUs), N(t.LockWaitUs), N(t.BoostedUs), N(t.Migrations), N(t.Pushes), N(t.Pulls),
                N(t.Preemptions), t.ExitUs < 0 ? "-" : N(t.ExitUs), t.LastCpu < 0 ? "-" : N(t.LastCpu), t.Affinity.ToString(),
            ]).ToList()));
        result.Tables.Add(new ResultTable("CPUs (virtual µs)", ["cpu", "busy", "idle", "lost bandwidth", "switches", "timer spins", "timer spin"],
            sim.Cpus.Select(c => (IReadOnlyList<string>)["cpu" + N(c.Id), N(c.BusyUs), N(c.IdleUs), N(c.LostUs), N(c.Switches), N(c.TimerSpins), N(c.TimerSpinUs)]).ToList()));
        result.Bars.Add(new BarSeries("lost-bandwidth", "Lost bandwidth per CPU (virtual µs)", "us",
            sim.Cpus.Select(c => "cpu" + N(c.Id)).ToArray(), sim.Cpus.Select(c => (double)c.LostUs).ToArray()));
        AddTimeline(sim, result);
        if (sim.Bugs.Count > 0 || sim.StuckTasks.Count > 0 || !sim.Completed)
        {
            var rows = new List<IReadOnlyList<string>>();
            rows.AddRange(sim.Bugs.Select(b => (IReadOnlyList<string>)["BUG", b]));
            rows.AddRange(sim.StuckTasks.Select(t => (IReadOnlyList<string>)["alive at end", t]));
            if (!sim.Completed)
            {
                // Why it stopped: endUs, the event limit, or the cancellation (Ctrl+C, the watchdog), which stops it
                // before its next event as the limit does and must not be noted as a limit it never reached.
                string why = Scenario.EndUs > 0 && sim.EndUs >= Scenario.EndUs ? "endUs"
                    : sim.Events < MaxEvents && cancellationToken.IsCancellationRequested ? "interrupted"
                    : "event limit";
                rows.Add(["cut off", $"the run stopped at {sim.EndUs} us ({why}) with events left"]);
            }

            result.Tables.Add(new ResultTable("Notes (not failures)", ["what", "detail"], rows));
        }
    }

    /// <summary>Segments drawn in the timeline plot at most (a long simulation keeps its first ones).</summary>
    public const int MaxTimelineSegments = 20_000;

    /// <summary>The CPU timeline from the trace: a segment from each switch-in to the CPU's next switch-in or idle.</summary>
    private static void AddTimeline(SimResult sim, ScenarioResult result)
    {
        var priority = sim.Tasks.ToDictionary(t => t.Name, t => t.Priority, StringComparer.Ordinal);
        var open = new Dictionary<int, (string Task, long StartUs)>();
        void Close(int cpu, long atUs)
        {
            if (open.Remove(cpu, out var seg) && result.Timeline.Count < MaxTimelineSegments)
            {
                result.Timeline.Add(new TimelineSegment("virtual-time", cpu, seg.Task, Math.Clamp(priority.GetValueOrDefault(seg.Task), 0, 99), seg.StartUs / 1000.0, atUs / 1000.0));
            }
        }

        foreach (SimTraceEvent e in sim.Trace)
        {
            if (e.Cpu < 0)
            {
                continue;
            }

            if (e.Kind == SimEventKind.SwitchIn && e.Task is not null)
            {
                Close(e.Cpu, e.TimeUs);
                open[e.Cpu] = (e.Task, e.TimeUs);
            }
            else if (e.Kind == SimEventKind.Idle)
            {
                Close(e.Cpu, e.TimeUs);
            }
        }

        foreach (int cpu in open.Keys.ToArray())
        {
            Close(cpu, sim.EndUs);
        }
    }

    private static string Quote(string s) => s.Any(char.IsWhiteSpace) || s.Length == 0 ? "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'" : s;
}
