using System.CommandLine;
using System.Text.Json;
using RtRuntime.Stress.Cli;

namespace RtRuntime.Stress.Tests;

/// <summary>
/// Ctrl+C outside any scenario (before the first, or between two) is still an interrupted, incomplete run:
/// the report must not say PASS for it. Found by a review helper (helper-117); both tests failed before the
/// fix (exit 130, but "passed": true and no trace of the scenarios that did not run). Never asserts timings.
/// </summary>
public sealed class InterruptedSuiteTests : IDisposable
{
    private readonly TempFolder _temp = new("rtstress-int-");

    private string Dir => _temp.Path;

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task InterruptedBeforeTheFirstScenario_IsNotAPass_TheFirstFailsScenarioCompleted()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        using var e = new StringWriter();

        (int code, JsonElement[] scenarios) = await RunAsync(e, cts.Token);

        Assert.Equal(StressCli.ExitInterrupted, code);
        JsonElement first = Assert.Single(scenarios);
        Assert.Equal("first", first.GetProperty("name").GetString());
        Assert.False(first.GetProperty("passed").GetBoolean());
        Assert.Equal(Invariants.ScenarioCompleted, first.GetProperty("violations")[0].GetProperty("invariant").GetString());
        Assert.Contains("FAIL first: invariant 'scenario-completed' failed (seed 9): interrupted before it started", e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task InterruptedBetweenTwoScenarios_IsNotAPass_TheNextFailsScenarioCompleted()
    {
        // The Ctrl+C lands once the first scenario's verdict is logged: after its own interruption check,
        // before the suite starts the second.
        using var cts = new CancellationTokenSource();
        using var e = new CancelOn("[first] PASS in", cts);

        (int code, JsonElement[] scenarios) = await RunAsync(e, cts.Token);

        Assert.True(cts.IsCancellationRequested, e.ToString());
        Assert.Equal(StressCli.ExitInterrupted, code);
        Assert.Equal(["first", "second"], scenarios.Select(s => s.GetProperty("name").GetString()));
        Assert.True(scenarios[0].GetProperty("passed").GetBoolean(), scenarios[0].ToString());
        Assert.False(scenarios[1].GetProperty("passed").GetBoolean());
        Assert.Contains("interrupted before it started", scenarios[1].GetProperty("violations")[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        using JsonDocument report = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(Dir, "report.json")));
        Assert.False(report.RootElement.GetProperty("passed").GetBoolean());
    }

    private async Task<(int Code, JsonElement[] Scenarios)> RunAsync(StringWriter error, CancellationToken cancellationToken)
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
        StressSettings settings = common.ToSettings(pr, TimeSpan.FromSeconds(1));
        SuiteEntry[] entries = [new(new InstantScenario("first"), settings), new(new InstantScenario("second"), settings), new(new InstantScenario("third"), settings)];
        using var o = new StringWriter();

        int code = await SuiteRunner.RunAsync(pr, common, entries, new CliOutput(o, error, IsProcessConsole: false), "usage: rtstress [command] [options]", cancellationToken).WaitAsync(TimeSpan.FromSeconds(60), CancellationToken.None);

        using JsonDocument doc = JsonDocument.Parse(o.ToString());
        Assert.False(doc.RootElement.GetProperty("passed").GetBoolean(), o.ToString());
        return (code, [.. doc.RootElement.GetProperty("scenarios").EnumerateArray().Select(s => s.Clone())]);
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
