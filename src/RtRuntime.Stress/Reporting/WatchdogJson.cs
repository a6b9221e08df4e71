using System.Text.Json;
using System.Text.Json.Nodes;

namespace RtRuntime.Stress.Reporting;

/// <summary>
/// The report folder's <c>&lt;scenario&gt;-watchdog.json</c>: why and when the watchdog fired, what it did
/// next, and the full /proc view (<see cref="RuntimeSnapshot"/>) of each runtime the scenario still had running.
/// </summary>
internal static class WatchdogJson
{
    private static readonly JsonSerializerOptions s_indented = new() { WriteIndented = true };

    /// <summary>The file name for <paramref name="scenario"/>.</summary>
    public static string FileName(string scenario) => PlotWriter.Safe(scenario) + "-watchdog.json";

    public static string Serialize(ScenarioResult result, WatchdogFiring firing)
    {
        var runtimes = new JsonArray();
        foreach (RuntimeSnapshot snapshot in firing.Snapshots)
        {
            runtimes.Add(JsonNode.Parse(snapshot.ToJson()));
        }

        var root = new JsonObject
        {
            ["scenario"] = result.Name,
            ["kind"] = result.Kind,
            ["seed"] = result.Seed,
            ["reproduce"] = result.Reproduce,
            ["reason"] = firing.Reason,
            ["plannedSeconds"] = firing.Planned.TotalSeconds,
            ["graceSeconds"] = firing.Grace.TotalSeconds,
            ["firedAfterSeconds"] = firing.FiredAfter.TotalSeconds,
            ["abandoned"] = firing.Abandoned,
            ["notes"] = new JsonArray(firing.Notes.Select(n => (JsonNode?)JsonValue.Create(n)).ToArray()),
            ["runtimes"] = runtimes,
        };
        return root.ToJsonString(s_indented);
    }
}
