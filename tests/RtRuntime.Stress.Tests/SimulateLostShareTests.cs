using System.Text.Json;
using RtRuntime.Simulation;

namespace RtRuntime.Stress.Tests;

/// <summary>
/// simulate's <c>lost_pct_of_busy</c> is lost bandwidth over busy time: with no busy time it was not measured and
/// must read "n/a" (null in report.json), as an empty histogram's percentiles do, not 0 %, which claims no loss.
/// Found by a review helper (helper-134); the zero-busy tests failed before the fix (0). Never asserts timings.
/// </summary>
public sealed class SimulateLostShareTests
{
    private const string Runs = """
        { "cpus": 1, "tasks": [ { "name": "A", "priority": 10, "steps": [ { "run": 100 }, { "sleep": 10 }, { "run": 100 } ] } ] }
        """;

    [Fact]
    public async Task InterruptedBeforeTheFirstEvent_NothingBusy_LostShareIsNotMeasured()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        ScenarioResult r = await new SimulateScenario(SimScenario.FromJson(Runs)).RunAsync(new StressSettings { Seed = 0 }, null, cts.Token);

        Assert.Equal(0, r.Simulation!.Cpus.Sum(c => c.BusyUs));
        AssertNotMeasured(r);
    }

    [Fact]
    public async Task EveryTaskOnlySleeps_NothingBusy_LostShareIsNotMeasured()
    {
        const string sleeps = """
            { "cpus": 2, "tasks": [ { "name": "A", "priority": 10, "steps": [ { "sleep": 50 } ] }, { "name": "B", "priority": 20, "steps": [ { "sleep": 70 } ] } ] }
            """;

        ScenarioResult r = await new SimulateScenario(SimScenario.FromJson(sleeps)).RunAsync(new StressSettings { Seed = 0 });

        Assert.True(r.Passed, string.Join("; ", r.Violations));
        Assert.Equal(0, r.Simulation!.Cpus.Sum(c => c.BusyUs));
        AssertNotMeasured(r);
    }

    [Fact]
    public async Task SomethingBusy_LostShareIsAFiniteNumber()
    {
        ScenarioResult r = await new SimulateScenario(SimScenario.FromJson(Runs)).RunAsync(new StressSettings { Seed = 0 });

        Assert.True(r.Simulation!.Cpus.Sum(c => c.BusyUs) > 0);
        double share = r.Figure("lost_pct_of_busy")!.Value;
        Assert.True(double.IsFinite(share), $"lost_pct_of_busy {share}");
        using JsonDocument doc = JsonDocument.Parse(new StressReport(new StressSettings { Seed = 0 }, [r], "rtstress simulate x", DateTimeOffset.UnixEpoch, TimeSpan.Zero).ToJson());
        Assert.Equal(JsonValueKind.Number, Figure(doc, "lost_pct_of_busy").ValueKind);
    }

    private static void AssertNotMeasured(ScenarioResult r)
    {
        double share = r.Figure("lost_pct_of_busy")!.Value;
        Assert.True(double.IsNaN(share), $"lost_pct_of_busy {share}");
        Assert.Equal("n/a", ScenarioResult.Format(share));
        var report = new StressReport(new StressSettings { Seed = 0 }, [r], "rtstress simulate x", DateTimeOffset.UnixEpoch, TimeSpan.Zero);
        using JsonDocument doc = JsonDocument.Parse(report.ToJson());
        Assert.Equal(JsonValueKind.Null, Figure(doc, "lost_pct_of_busy").ValueKind);
        using JsonDocument summary = JsonDocument.Parse(report.ToSummaryJson(null));
        Assert.Equal(JsonValueKind.Null, summary.RootElement.GetProperty("scenarios")[0].GetProperty("figures").GetProperty("lost_pct_of_busy").ValueKind);
    }

    /// <summary>The figure's value in report.json (scenarios[0].figures[] by key).</summary>
    private static JsonElement Figure(JsonDocument doc, string key) =>
        doc.RootElement.GetProperty("scenarios")[0].GetProperty("figures").EnumerateArray().Single(f => f.GetProperty("key").GetString() == key).GetProperty("value");
}
