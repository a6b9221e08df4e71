using System.CommandLine;
using Microsoft.Extensions.Logging;
using RtRuntime.Stress.Cli;

namespace RtRuntime.Stress.Tests;

/// <summary>
/// harness.md: the runtime's "task … no longer affine to cpuN" warnings go to rtstress.log only. The rate
/// limiter's count of those it suppressed ("no longer affine: 193 messages suppressed (LogRateLimit)", seen in a
/// default suite's mixed run) still reached the console: its template names the kind only as a property, which
/// the console's filter did not read. Found by a review helper (helper-147); this test failed before the fix.
/// </summary>
public sealed class AffinityWarningConsoleTests : IDisposable
{
    private readonly TempFolder _temp = new("rtstress-aff-");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task AffinityWideningWarnings_AndTheirSuppressedCount_GoToTheLogFileOnly()
    {
        var common = new CommonOptions();
        var root = new RootCommand();
        foreach (Option option in common.All)
        {
            root.Options.Add(option);
        }

        common.AddValidators();
        ParseResult pr = root.Parse(["--cpus", "2", "--seed", "9", "--out", _temp.Path]);
        Assert.Empty(pr.Errors);
        SuiteEntry[] entries = [new(new AffinityWarningScenario(), common.ToSettings(pr, TimeSpan.FromSeconds(1)))];
        using var o = new StringWriter();
        using var e = new StringWriter();

        int code = await SuiteRunner.RunAsync(pr, common, entries, new CliOutput(o, e, IsProcessConsole: false), "usage: rtstress [command] [options]", CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(StressCli.ExitPassed, code);
        string console = o.ToString() + e.ToString();
        Assert.Contains("[affinity-warnings] PASS", console, StringComparison.Ordinal); // the console log is on
        Assert.Contains("stall: 2 messages suppressed (LogRateLimit)", console, StringComparison.Ordinal); // other kinds' counts stay
        Assert.DoesNotContain("no longer affine", console, StringComparison.Ordinal);
        string log = await File.ReadAllTextAsync(Path.Combine(_temp.Path, "rtstress.log"));
        Assert.Contains("task mix/1 no longer affine to cpu1", log, StringComparison.Ordinal);
        Assert.Contains("no longer affine: 193 messages suppressed (LogRateLimit)", log, StringComparison.Ordinal);
    }

    /// <summary>Logs what the runtime logs (RtLog's templates) through the run's logger factory, as a runtime does.</summary>
    private sealed class AffinityWarningScenario() : StressScenario("affinity-warnings")
    {
        public override string Kind => "affinity-warnings";

        protected override Task RunCoreAsync(StressSettings settings, ScenarioResult result, IProgress<ScenarioProgress>? progress, CancellationToken cancellationToken)
        {
            ILogger logger = settings.LoggerFactory!.CreateLogger("RtRuntime");
#pragma warning disable CA1848, CA2254 // the runtime's own templates, verbatim
            logger.LogWarning("task {Task} no longer affine to cpu{Cpu}", "mix/1", 1);
            logger.LogWarning("{Kind}: {Count} messages suppressed (LogRateLimit)", "no longer affine", 193);
            logger.LogWarning("{Kind}: {Count} messages suppressed (LogRateLimit)", "stall", 2);
#pragma warning restore CA1848, CA2254
            return Task.CompletedTask;
        }
    }
}
