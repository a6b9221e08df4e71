using RtRuntime.Stress.Reporting;

namespace RtRuntime.Stress;

/// <summary>
/// The results of a run of one or more scenarios, and the report folder written from them:
/// <c>report.json</c> (schema <see cref="SchemaVersion"/>, see docs/report-schema.json), plots as PNG and
/// SVG, and <c>report.html</c> linking them.
/// </summary>
public sealed class StressReport
{
    /// <summary>The version of report.json's schema; bumped on any incompatible change.</summary>
    public const int SchemaVersion = 2;

    /// <summary>Creates a report of <paramref name="results"/> run with <paramref name="settings"/>.</summary>
    /// <param name="settings">The shared settings.</param>
    /// <param name="results">The scenario results, in run order.</param>
    /// <param name="command">The command line that produced it.</param>
    /// <param name="startedUtc">When the run started.</param>
    /// <param name="elapsed">Wall time of the whole run.</param>
    public StressReport(StressSettings settings, IReadOnlyList<ScenarioResult> results, string command, DateTimeOffset startedUtc, TimeSpan elapsed)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(results);
        Settings = settings;
        Results = results;
        Command = command ?? string.Empty;
        StartedUtc = startedUtc;
        Elapsed = elapsed;
    }

    /// <summary>The shared settings.</summary>
    public StressSettings Settings { get; }

    /// <summary>The scenario results, in run order.</summary>
    public IReadOnlyList<ScenarioResult> Results { get; }

    /// <summary>The command line that produced the report.</summary>
    public string Command { get; }

    /// <summary>When the run started.</summary>
    public DateTimeOffset StartedUtc { get; }

    /// <summary>Wall time of the whole run.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>True when every scenario passed.</summary>
    public bool Passed => Results.All(r => r.Passed);

    /// <summary>Every violation of every scenario.</summary>
    public IEnumerable<InvariantViolation> Violations => Results.SelectMany(r => r.Violations);

    /// <summary>The report as JSON (the content of report.json, without plot references).</summary>
    public string ToJson() => ReportJson.Serialize(this, plots: null, indented: true);

    /// <summary>The one-object summary printed by <c>--json</c>: pass/fail, figures and violations per scenario.</summary>
    /// <param name="reportFolder">The report folder, or null when none was written.</param>
    public string ToSummaryJson(string? reportFolder) => ReportJson.Summary(this, reportFolder);

    /// <summary>
    /// Writes the report folder: report.json, the plots (PNG and SVG), report.html, and for a scenario
    /// the watchdog fired on, <c>&lt;scenario&gt;-watchdog.json</c> (its runtimes' snapshots). Creates the
    /// folder if needed; overwrites files of the same names. Each file is written to a temporary file in the
    /// folder and renamed over its name, so an interrupted or failed write never leaves a truncated file: each
    /// file is either complete or as it was (the temporary file is removed).
    /// </summary>
    /// <param name="folder">The folder.</param>
    /// <param name="cancellationToken">Stops the write (between files, or within the trace, whose partial file is then removed).</param>
    /// <returns>The files written, relative to <paramref name="folder"/>.</returns>
    public async Task<IReadOnlyList<string>> WriteAsync(string folder, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        Directory.CreateDirectory(folder);
        var files = new List<string>();
        IReadOnlyDictionary<string, IReadOnlyList<PlotFile>> plots = PlotWriter.WriteAll(this, folder, cancellationToken);
        files.AddRange(plots.Values.SelectMany(p => p).SelectMany(p => new[] { p.Png, p.Svg }));
        foreach (ScenarioResult r in Results)
        {
            if (r.Simulation is { } sim)
            {
                string name = PlotWriter.Safe(r.Name) + "-trace.txt";
                await ReportFile.WriteAsync(Path.Combine(folder, name), async (stream, ct) =>
                {
                    await using var trace = new StreamWriter(stream, leaveOpen: true);
                    foreach (Simulation.SimTraceEvent e in sim.Trace)
                    {
                        ct.ThrowIfCancellationRequested();
                        await trace.WriteLineAsync(e.ToString()).ConfigureAwait(false);
                    }
                }, cancellationToken).ConfigureAwait(false);

                files.Add(name);
            }

            if (r.Watchdog is { } firing)
            {
                string name = WatchdogJson.FileName(r.Name);
                await ReportFile.WriteAllTextAsync(Path.Combine(folder, name), WatchdogJson.Serialize(r, firing), cancellationToken).ConfigureAwait(false);
                files.Add(name);
            }
        }

        await ReportFile.WriteAllTextAsync(Path.Combine(folder, "report.json"), ReportJson.Serialize(this, plots, indented: true), cancellationToken).ConfigureAwait(false);
        files.Add("report.json");
        await ReportFile.WriteAllTextAsync(Path.Combine(folder, "report.html"), HtmlReport.Render(this, plots), cancellationToken).ConfigureAwait(false);
        files.Add("report.html");
        return files;
    }
}
