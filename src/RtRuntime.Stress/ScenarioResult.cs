namespace RtRuntime.Stress;

/// <summary>What one scenario run produced: figures, histograms, tables, timeline, and invariant violations.</summary>
public sealed class ScenarioResult
{
    /// <summary>Creates an empty result for <paramref name="name"/>.</summary>
    /// <param name="name">The scenario's name.</param>
    /// <param name="kind">The scenario's kind (its subcommand).</param>
    /// <param name="seed">The seed it ran with.</param>
    public ScenarioResult(string name, string kind, int seed)
    {
        Name = name;
        Kind = kind;
        Seed = seed;
    }

    /// <summary>The scenario's name (unique in a report), e.g. <c>cyclic-load</c>.</summary>
    public string Name { get; }

    /// <summary>The scenario's kind: the subcommand that runs it (<c>cyclic</c>, <c>pileup</c>, <c>mixed</c>).</summary>
    public string Kind { get; }

    /// <summary>The seed it ran with.</summary>
    public int Seed { get; }

    /// <summary>The command line that reruns it.</summary>
    public string Reproduce { get; set; } = string.Empty;

    /// <summary>CPUs of the runtime(s).</summary>
    public int Cpus { get; set; }

    /// <summary>Wall time of the run.</summary>
    public TimeSpan Elapsed { get; set; }

    /// <summary>Invariant checks performed.</summary>
    public long Checks { get; set; }

    /// <summary>Parameters of the run (interval, load, …) as text.</summary>
    public IDictionary<string, string> Parameters { get; } = new SortedDictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Named figures.</summary>
    public IList<ScenarioFigure> Figures { get; } = new List<ScenarioFigure>();

    /// <summary>Latency histograms (per CPU, per task group, …).</summary>
    public IList<LatencyHistogram> Histograms { get; } = new List<LatencyHistogram>();

    /// <summary>
    /// What <see cref="Histograms"/> measure, for their plot: the file name's suffix, the title and the x axis
    /// (default: wakeup latency, <c>&lt;scenario&gt;-latency.png</c>).
    /// </summary>
    public HistogramPlot HistogramPlot { get; set; } = HistogramPlot.WakeupLatency;

    /// <summary>Tables for the report.</summary>
    public IList<ResultTable> Tables { get; } = new List<ResultTable>();

    /// <summary>Bar charts for the report.</summary>
    public IList<BarSeries> Bars { get; } = new List<BarSeries>();

    /// <summary>Which task ran where and when (for the CPU timeline plot).</summary>
    public IList<TimelineSegment> Timeline { get; } = new List<TimelineSegment>();

    /// <summary>The simulator's output, for a <c>simulate</c> run (null for the other kinds).</summary>
    public Simulation.SimResult? Simulation { get; set; }

    /// <summary>
    /// What the watchdog saw when it fired (null when it did not): the runtimes' snapshots and what it did
    /// next. Its failure is the <see cref="Invariants.Watchdog"/> violation.
    /// </summary>
    public WatchdogFiring? Watchdog { get; set; }

    /// <summary>Invariant violations (empty when the run passed).</summary>
    public IList<InvariantViolation> Violations { get; } = new List<InvariantViolation>();

    /// <summary>True when every invariant held.</summary>
    public bool Passed => Violations.Count == 0;

    /// <summary>The figure named <paramref name="key"/>, or null.</summary>
    /// <param name="key">The figure's key.</param>
    public double? Figure(string key) => Figures.FirstOrDefault(f => f.Key == key)?.Value;

    /// <summary>Adds a figure.</summary>
    /// <param name="key">Its key.</param>
    /// <param name="value">Its value.</param>
    /// <param name="unit">Its unit.</param>
    /// <param name="summary">True to show it in the summary line.</param>
    public void AddFigure(string key, double value, string unit, bool summary = false) =>
        Figures.Add(new ScenarioFigure(key, value, unit, summary));

    /// <summary>The summary figures as one short line, e.g. <c>p99 21 us, max 480 us</c>.</summary>
    public string SummaryLine() => string.Join(", ", Figures.Where(f => f.Summary).Select(f => f.Key + " " + Format(f.Value) + (f.Unit is "count" or "" ? string.Empty : " " + f.Unit)));

    internal static string Format(double value) => value switch
    {
        _ when double.IsNaN(value) => "n/a",
        _ when Math.Abs(value) >= 100 || value == Math.Floor(value) => value.ToString("0", System.Globalization.CultureInfo.InvariantCulture),
        _ when Math.Abs(value) >= 10 => value.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture),
    };
}
