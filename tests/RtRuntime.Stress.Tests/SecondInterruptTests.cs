using System.CommandLine;
using System.Text.Json;
using RtRuntime.Stress.Cli;
using RtRuntime.Stress.Reporting;

namespace RtRuntime.Stress.Tests;

/// <summary>
/// The second Ctrl+C cuts the report write short; the first stops the run and the report of what ran is written; the
/// third ends the process. Found by a review helper (helper-134): every Ctrl+C after the first was swallowed and the
/// write ran to its end (11 s for a large simulate trace). The tests drive the tokens, not signals. Never asserts timings.
/// </summary>
public sealed class SecondInterruptTests : IDisposable
{
    private readonly TempFolder _temp = new("rtstress-2nd-");

    private string Dir => _temp.Path;

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task SecondInterrupt_DuringTheReportWrite_StopsIt_SummaryStillPrinted_Exit130()
    {
        using var run = new CancellationTokenSource();
        using var report = new CancellationTokenSource();
        await run.CancelAsync(); // the first Ctrl+C
        // The second lands once the run announces the report write, before the write starts.
        using var e = new CancelOn("writing the report of what ran", report);

        (int code, string output) = await RunAsync(e, run.Token, report.Token);

        Assert.True(report.IsCancellationRequested, e.ToString());
        Assert.Equal(StressCli.ExitInterrupted, code);
        Assert.Contains($"error: the report could not be written to '{Dir}': interrupted by a second Ctrl+C", e.ToString(), StringComparison.Ordinal);
        Assert.Contains("FAIL first: invariant 'scenario-completed' failed (seed 9): interrupted before it started", e.ToString(), StringComparison.Ordinal);
        using JsonDocument doc = JsonDocument.Parse(output);
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("reportFolder").ValueKind);
        Assert.False(File.Exists(Path.Combine(Dir, "report.json")));
        Assert.Empty(Directory.GetFiles(Dir, "*" + ReportFile.TempSuffix));
    }

    [Fact]
    public async Task FirstInterruptOnly_TheReportOfWhatRanIsWritten()
    {
        using var run = new CancellationTokenSource();
        using var report = new CancellationTokenSource();
        await run.CancelAsync();
        using var e = new StringWriter();

        (int code, _) = await RunAsync(e, run.Token, report.Token);

        Assert.Equal(StressCli.ExitInterrupted, code);
        Assert.True(File.Exists(Path.Combine(Dir, "report.json")), e.ToString());
        Assert.DoesNotContain("could not be written", e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void InterruptHandler_FirstStopsTheRun_SecondTheReport_ThirdEndsTheProcess()
    {
        using var hints = new StringWriter();
        using var handler = new InterruptHandler(hints);

        Assert.False(handler.OnInterrupt());
        Assert.True(handler.Run.IsCancellationRequested);
        Assert.False(handler.Report.IsCancellationRequested);
        Assert.Contains("Ctrl+C again to skip the rest of the report", hints.ToString(), StringComparison.Ordinal);

        Assert.False(handler.OnInterrupt());
        Assert.True(handler.Report.IsCancellationRequested);
        Assert.Contains("Ctrl+C once more to exit at once", hints.ToString(), StringComparison.Ordinal);

        Assert.True(handler.OnInterrupt());
        Assert.True(handler.OnInterrupt());
    }

    [Fact]
    public void InterruptHandler_NullHints_Throws()
    {
        ArgumentNullException ex = Assert.Throws<ArgumentNullException>(() => new InterruptHandler(null!));
        Assert.Equal("hints", ex.ParamName);
    }

    private async Task<(int Code, string Output)> RunAsync(StringWriter error, CancellationToken run, CancellationToken report)
    {
        var common = new CommonOptions();
        var root = new RootCommand();
        foreach (Option option in common.All)
        {
            root.Options.Add(option);
        }

        common.AddValidators();
        ParseResult pr = root.Parse(["--cpus", "2", "--seed", "9", "--json", "--out", Dir]);
        Assert.Empty(pr.Errors);
        SuiteEntry[] entries = [new(new InstantScenario("first"), common.ToSettings(pr, TimeSpan.FromSeconds(1)))];
        using var o = new StringWriter();

        int code = await SuiteRunner.RunAsync(pr, common, entries, new CliOutput(o, error, IsProcessConsole: false), "usage: rtstress [command] [options]", run, report).WaitAsync(TimeSpan.FromSeconds(60), CancellationToken.None);
        return (code, o.ToString());
    }

    /// <summary>A scenario that passes at once (no runtime).</summary>
    private sealed class InstantScenario(string name) : StressScenario(name)
    {
        public override string Kind => "instant";

        protected override Task RunCoreAsync(StressSettings settings, ScenarioResult result, IProgress<ScenarioProgress>? progress, CancellationToken cancellationToken)
        {
            result.AddFigure("ran", 1, "count", summary: true);
            return Task.CompletedTask;
        }
    }
}
