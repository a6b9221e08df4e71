using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Logging;
using Spectre.Console;

namespace RtRuntime.Stress.Cli;

/// <summary>Runs the scenarios of one CLI invocation: progress, logs, report folder, summary table, exit code.</summary>
internal static class SuiteRunner
{
    private static readonly TimeSpan PlainProgressEvery = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The default report folder: <paramref name="root"/>/&lt;timestamp&gt;, or &lt;timestamp&gt;-2, -3… when a
    /// run started earlier in the same second has it (it would be overwritten).
    /// </summary>
    internal static string DefaultFolder(string root, DateTime now)
    {
        string stamp = Path.Combine(root, now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        string folder = stamp;
        for (int n = 2; Directory.Exists(folder); n++)
        {
            folder = stamp + "-" + n.ToString(CultureInfo.InvariantCulture);
        }

        return folder;
    }

    /// <summary>Runs <paramref name="entries"/>, writes the report folder, prints the summary; returns the exit code.</summary>
    /// <param name="pr">The parsed command line.</param>
    /// <param name="common">The common options.</param>
    /// <param name="entries">The scenarios and their settings.</param>
    /// <param name="io">Where the output goes.</param>
    /// <param name="usage">The usage line printed with an argument error.</param>
    /// <param name="cancellationToken">Stops the run (the first Ctrl+C); the report of what ran is still written.</param>
    /// <param name="reportCancellationToken">Stops the report write (the second Ctrl+C): the files written before it are complete, the others missing.</param>
    public static async Task<int> RunAsync(ParseResult pr, CommonOptions common, IReadOnlyList<SuiteEntry> entries, CliOutput io, string usage, CancellationToken cancellationToken, CancellationToken reportCancellationToken = default)
    {
        bool json = pr.GetValue(common.Json);
        bool quiet = pr.GetValue(common.Quiet);
        string folder = pr.GetValue(common.Out) ?? DefaultFolder("rtstress-report", DateTime.Now);
        string command = CommandLine(pr.Tokens.Select(t => t.Value));
        if (CheckWritable(folder) is { } problem)
        {
            await io.Error.WriteLineAsync(usage).ConfigureAwait(false);
            await io.Error.WriteLineAsync($"error: --out: cannot write the report folder '{folder}': {problem}").ConfigureAwait(false);
            return StressCli.ExitBadArguments;
        }

        TextWriter human = json ? io.Error : io.Out;
        bool interactive = io.IsProcessConsole && !json && !quiet && AnsiConsole.Profile.Capabilities.Interactive;
        IAnsiConsole console = interactive
            ? AnsiConsole.Console
            : AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(human), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No });
        if (!interactive)
        {
            console.Profile.Width = 200;
        }

        await using Logger log = CreateLogger(folder, io, human, quiet, interactive);
        using var loggerFactory = new SerilogLoggerFactory(log, dispose: false);
        log.Information("rtstress {Version}: {Count} scenario(s), {Cpus} CPUs, seed {Seed}, report folder {Folder}",
            Reporting.ReportJson.ToolVersion, entries.Count, entries[0].Settings.EffectiveCpuCount, entries[0].Settings.Seed, Path.GetFullPath(folder));

        DateTimeOffset started = DateTimeOffset.UtcNow;
        long t0 = Stopwatch.GetTimestamp();
        var results = new List<ScenarioResult>();
        if (interactive)
        {
            await console.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .StartAsync(async ctx =>
                {
                    List<ProgressTask> bars = entries.Select(e => ctx.AddTask(e.Scenario.Name, autoStart: false, maxValue: 100)).ToList();
                    for (int i = 0; i < entries.Count && !cancellationToken.IsCancellationRequested; i++)
                    {
                        ProgressTask bar = bars[i];
                        string name = entries[i].Scenario.Name;
                        bar.StartTask();
                        var progress = new CallbackProgress<ScenarioProgress>(p =>
                        {
                            bar.Value = p.Fraction * 100;
                            bar.Description = $"{Markup.Escape(name)} [grey]{Markup.Escape(p.Status)}[/]";
                        });
                        results.Add(await RunOneAsync(entries[i], loggerFactory, log, progress, cancellationToken).ConfigureAwait(false));
                        bar.Value = 100;
                        bar.StopTask();
                    }
                }).ConfigureAwait(false);
        }
        else
        {
            foreach (SuiteEntry entry in entries)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    break;
                }

                long last = 0;
                var progress = new CallbackProgress<ScenarioProgress>(p =>
                {
                    long now = Stopwatch.GetTimestamp();
                    if (Stopwatch.GetElapsedTime(last, now) >= PlainProgressEvery)
                    {
                        last = now;
                        log.Information("[{Scenario}] {Percent,3:0}% {Status}", p.Scenario, p.Fraction * 100, p.Status);
                    }
                });
                log.Information("[{Scenario}] starting: {Reproduce}", entry.Scenario.Name, entry.Scenario.ReproduceCommand(entry.Settings));
                results.Add(await RunOneAsync(entry, loggerFactory, log, progress, cancellationToken).ConfigureAwait(false));
            }
        }

        bool interrupted = cancellationToken.IsCancellationRequested;
        if (interrupted)
        {
            log.Warning("Interrupted: {Ran} of {Count} scenario(s) ran; writing the report of what ran", results.Count, entries.Count);
            if (results.Count < entries.Count && (results.Count == 0 || !results[^1].Violations.Any(v => v.Invariant == Invariants.ScenarioCompleted)))
            {
                // The Ctrl+C came outside any scenario (before the first, or after one had ended and its own
                // interruption check had passed): no result says so, and the report would be a PASS of a run that
                // did not complete. The scenario that was due fails instead, as the one running would have.
                results.Add(NotStarted(entries[results.Count]));
            }
        }

        var report = new StressReport(entries[0].Settings, results, command, started, Stopwatch.GetElapsedTime(t0));
        string? writeProblem = null;
        try
        {
            // An interrupted run still gets its report: only the second Ctrl+C stops the write.
            IReadOnlyList<string> files = await report.WriteAsync(folder, reportCancellationToken).ConfigureAwait(false);
            // + 1: rtstress.log, which the logger writes, not the report.
            log.Information("Report: {Files} files in {Folder}; open {Html}", files.Count + 1, Path.GetFullPath(folder), Path.Combine(Path.GetFullPath(folder), "report.html"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The folder was writable at the start (CheckWritable) but is not now (removed and replaced, a full
            // disk): the results below are what the run produced, so they are still printed, and the exit code
            // is still the verdict's. Escaping here printed a stack trace instead, and exited 1 after a PASS.
            writeProblem = ex.Message;
            log.Error(ex, "The report could not be written to {Folder}", Path.GetFullPath(folder));
        }
        catch (OperationCanceledException) when (reportCancellationToken.IsCancellationRequested)
        {
            // The user asked to skip the rest of the report: the summary, the FAIL lines and --json still follow
            // (quickly), and the folder holds only complete files (ReportFile), but not every file.
            writeProblem = "interrupted by a second Ctrl+C: the files written before it are complete, the rest are missing";
            log.Warning("The report write to {Folder} was interrupted by a second Ctrl+C: it is incomplete", Path.GetFullPath(folder));
        }

        if (!quiet)
        {
            foreach (ScenarioResult r in results.Where(r => r.Simulation is not null))
            {
                WriteSimulation(console, r, pr.GetValue(SimulateCommand.TraceLines));
            }

            console.Write(SummaryTable(report));
        }

        foreach (InvariantViolation v in report.Violations)
        {
            await io.Error.WriteLineAsync("FAIL " + v).ConfigureAwait(false);
            log.Error("Invariant {Invariant} failed in {Scenario} (seed {Seed}): {Message}", v.Invariant, v.Scenario, v.Seed, v.Message);
        }

        if (writeProblem is not null)
        {
            await io.Error.WriteLineAsync($"error: the report could not be written to '{Path.GetFullPath(folder)}': {writeProblem}").ConfigureAwait(false);
        }

        if (json)
        {
            await io.Out.WriteLineAsync(report.ToSummaryJson(writeProblem is null ? Path.GetFullPath(folder) : null)).ConfigureAwait(false);
        }

        return interrupted ? StressCli.ExitInterrupted : report.Passed ? StressCli.ExitPassed : StressCli.ExitInvariantFailed;
    }

    /// <summary>The command line as the report records it: <c>rtstress</c> and the arguments, with no trailing space when there are none.</summary>
    internal static string CommandLine(IEnumerable<string> args) => string.Join(' ', args.Prepend("rtstress"));

    /// <summary>The result of a scenario the interruption kept from starting: no figures, a <see cref="Invariants.ScenarioCompleted"/> failure.</summary>
    private static ScenarioResult NotStarted(SuiteEntry entry)
    {
        string reproduce = entry.Scenario.ReproduceCommand(entry.Settings);
        var result = new ScenarioResult(entry.Scenario.Name, entry.Scenario.Kind, entry.Settings.Seed) { Reproduce = reproduce, Cpus = entry.Settings.EffectiveCpuCount };
        result.Violations.Add(new InvariantViolation(entry.Scenario.Name, Invariants.ScenarioCompleted, "interrupted before it started", entry.Settings.Seed) { Reproduce = reproduce });
        return result;
    }

    internal static async Task<ScenarioResult> RunOneAsync(SuiteEntry entry, SerilogLoggerFactory loggerFactory, Logger log, IProgress<ScenarioProgress> progress, CancellationToken cancellationToken)
    {
        StressSettings settings = entry.Settings with { LoggerFactory = loggerFactory };
        try
        {
            ScenarioResult result = await entry.Scenario.RunAsync(settings, progress, cancellationToken).ConfigureAwait(false);
            if (cancellationToken.IsCancellationRequested)
            {
                // Its figures cover only the part that ran: not a PASS.
                result.Violations.Add(new InvariantViolation(result.Name, Invariants.ScenarioCompleted, $"interrupted after {result.Elapsed.TotalSeconds:0.0} s", settings.Seed) { Reproduce = result.Reproduce });
            }

            log.Information("[{Scenario}] {Verdict} in {Seconds:0.0} s: {Summary}", result.Name, result.Passed ? "PASS" : "FAIL", result.Elapsed.TotalSeconds, result.SummaryLine());
            return result;
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            // The run could not complete (the runtime could not pin its threads, a hotplug callback threw,
            // a bug): report it as a failure of the scenario, with its seed, and go on with the next one.
            log.Error(ex, "[{Scenario}] did not complete", entry.Scenario.Name);
            var failed = new ScenarioResult(entry.Scenario.Name, entry.Scenario.Kind, settings.Seed) { Reproduce = entry.Scenario.ReproduceCommand(settings), Cpus = settings.EffectiveCpuCount };
            failed.Violations.Add(new InvariantViolation(entry.Scenario.Name, Invariants.ScenarioCompleted, $"{ex.GetType().Name}: {ex.Message}", settings.Seed) { Reproduce = failed.Reproduce });
            return failed;
        }
    }

    private static Logger CreateLogger(string folder, CliOutput io, TextWriter human, bool quiet, bool interactive)
    {
        const string template = "{Timestamp:HH:mm:ss} {Level:u3} {Message:lj}{NewLine}{Exception}";
        string logPath = Path.Combine(folder, "rtstress.log");
        try
        {
            // The file sink appends: a run into the folder of an earlier one (--out reused) replaces that
            // run's report files, and its log must be this run's too, not the earlier run's lines (its BUG
            // and ERR lines beside a PASS report) followed by this one's.
            File.Delete(logPath); // nothing to do when there is none (a folder of that name is not a file: left to the sink)
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not removable (held open elsewhere on Windows, no right to): this run's lines follow the old ones, as before.
        }

        var config = new LoggerConfiguration()
            .MinimumLevel.Debug()
            .WriteTo.File(logPath, outputTemplate: "{Timestamp:O} {Level:u3} {SourceContext} {Message:lj}{NewLine}{Exception}", formatProvider: CultureInfo.InvariantCulture);
        if (!quiet)
        {
            // While Spectre draws live bars, only warnings reach the console (they would tear the bars).
            LogEventLevel level = interactive ? LogEventLevel.Warning : LogEventLevel.Information;
            // The runtime's per-task "no longer affine to cpuN" warnings (hotplug widening an affinity) go to the file only:
            // under hotplug churn there are thousands of them.
            config = config.WriteTo.Logger(console =>
            {
                console.Filter.ByExcluding(IsAffinityWidening);
                _ = io.IsProcessConsole
                    ? console.WriteTo.Console(restrictedToMinimumLevel: level, outputTemplate: template, formatProvider: CultureInfo.InvariantCulture, standardErrorFromLevel: human == io.Error ? LogEventLevel.Verbose : null)
                    : console.WriteTo.Sink(new TextWriterSink(human, new Serilog.Formatting.Display.MessageTemplateTextFormatter(template, CultureInfo.InvariantCulture)), level);
            });
        }

        return config.CreateLogger();
    }

    /// <summary>
    /// A "task … no longer affine to cpuN" warning, or the rate limiter's count of those it suppressed ("no longer
    /// affine: N messages suppressed (LogRateLimit)", whose template names the kind only as a property): the
    /// console got the count alone, a warning about messages it never showed.
    /// </summary>
    private static bool IsAffinityWidening(LogEvent e) =>
        e.MessageTemplate.Text.Contains("no longer affine", StringComparison.Ordinal)
        || (e.Properties.TryGetValue("Kind", out LogEventPropertyValue? kind) && kind is ScalarValue { Value: "no longer affine" });

    /// <summary>The simulation's trace (first <paramref name="traceLines"/> entries) and its tables, on the console.</summary>
    private static void WriteSimulation(IAnsiConsole console, ScenarioResult r, int traceLines)
    {
        Simulation.SimResult sim = r.Simulation!;
        if (traceLines > 0)
        {
            var trace = new Table().Title($"{Markup.Escape(r.Name)}: trace ({sim.Trace.Count} entries{(sim.Trace.Count > traceLines ? $", first {traceLines}; all in {Markup.Escape(Reporting.PlotWriter.Safe(r.Name))}-trace.txt" : string.Empty)})")
                .AddColumn(new TableColumn("µs").RightAligned()).AddColumn("cpu").AddColumn("task").AddColumn("event").AddColumn("other");
            trace.Border = TableBorder.Simple;
            foreach (Simulation.SimTraceEvent e in sim.Trace.Take(traceLines))
            {
                string cpu = e.Cpu < 0 ? "-" : e.OtherCpu >= 0 && e.Kind != Simulation.SimEventKind.Wakeup ? $"{e.OtherCpu}->{e.Cpu}" : e.Cpu.ToString(CultureInfo.InvariantCulture);
                trace.AddRow(e.TimeUs.ToString(CultureInfo.InvariantCulture), cpu, Markup.Escape(e.Task ?? "-"), e.Kind.ToString(), Markup.Escape(e.Other ?? string.Empty));
            }

            console.Write(trace);
        }

        foreach (ResultTable t in r.Tables)
        {
            var table = new Table().Title(Markup.Escape($"{r.Name}: {t.Title}"));
            table.Border = TableBorder.Simple;
            foreach (string c in t.Columns)
            {
                table.AddColumn(new TableColumn(Markup.Escape(c)).RightAligned());
            }

            foreach (IReadOnlyList<string> row in t.Rows)
            {
                table.AddRow(row.Select(Markup.Escape).ToArray());
            }

            console.Write(table);
        }
    }

    private static Table SummaryTable(StressReport report)
    {
        var table = new Table().Title($"rtstress: {(report.Passed ? "PASS" : "FAIL")} in {report.Elapsed.TotalSeconds:0.0} s")
            .AddColumn("scenario").AddColumn("result").AddColumn("key figures").AddColumn(new TableColumn("time (s)").RightAligned());
        foreach (ScenarioResult r in report.Results)
        {
            table.AddRow(
                Markup.Escape(r.Name),
                r.Passed ? "[green]PASS[/]" : "[red]FAIL[/]",
                Markup.Escape(r.SummaryLine()),
                r.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture));
        }

        return table;
    }

    /// <summary>Null when <paramref name="folder"/> can be created and written; else what went wrong.</summary>
    private static string? CheckWritable(string folder)
    {
        try
        {
            Directory.CreateDirectory(folder);
            string probe = Path.Combine(folder, ".rtstress-write-test");
            File.WriteAllText(probe, "ok");
            File.Delete(probe);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            return ex.Message;
        }
    }
}
