using RtRuntime.Simulation;

namespace RtRuntime.Stress.Tests;

/// <summary>The simulate scenario's "Notes (not failures)" table says why a run was cut off. Never asserts timings.</summary>
public sealed class SimulateNotesTests
{
    private const string Scenario = """
        { "cpus": 1, "tasks": [ { "name": "A", "priority": 10, "steps": [ { "run": 100 }, { "sleep": 10 }, { "run": 100 } ] } ] }
        """;

    [Fact]
    public async Task Interrupted_TheCutOffNoteSaysInterrupted_NotEventLimit()
    {
        // Found by a review helper (helper-117): a Ctrl+C stop was noted as "(event limit)", a limit the run
        // never reached; this test failed before the fix.
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        ScenarioResult r = await new SimulateScenario(SimScenario.FromJson(Scenario)).RunAsync(new StressSettings { Seed = 0 }, null, cts.Token);

        string note = CutOffNote(r);
        Assert.Contains("(interrupted)", note, StringComparison.Ordinal);
        Assert.DoesNotContain("event limit", note, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EventLimit_TheCutOffNoteSaysEventLimit()
    {
        ScenarioResult r = await new SimulateScenario(SimScenario.FromJson(Scenario)) { MaxEvents = 2 }.RunAsync(new StressSettings { Seed = 0 });

        Assert.Contains("(event limit)", CutOffNote(r), StringComparison.Ordinal);
    }

    private static string CutOffNote(ScenarioResult r)
    {
        ResultTable notes = Assert.Single(r.Tables, t => t.Title == "Notes (not failures)");
        return Assert.Single(notes.Rows, row => row[0] == "cut off")[1];
    }
}
