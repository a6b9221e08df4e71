using System.Text.Json.Nodes;

namespace RtRuntime.Stress.Tests;

/// <summary>report-schema.json against the types whose values a report carries by name.</summary>
public class ReportSchemaTests
{
    [Fact]
    public void Schema_NamesEverySimulatorViolationKind()
    {
        // The simulation section's violations carry a SimViolationKind by name: a kind the enum gains must
        // be one the schema accepts, or a report holding it fails validation.
        JsonNode schema = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "report-schema.json")))!;
        JsonArray kinds = FindViolationKinds(schema) ?? throw new InvalidOperationException("no violations kind enum in report-schema.json");
        Assert.Equal(Enum.GetNames<RtRuntime.Simulation.SimViolationKind>(), kinds.Select(k => k!.GetValue<string>()).ToArray());
    }

    private static JsonArray? FindViolationKinds(JsonNode? node) => node switch
    {
        JsonObject o when o["violations"]?["items"]?["properties"]?["kind"]?["enum"] is JsonArray kinds => kinds,
        JsonObject o => o.Select(p => FindViolationKinds(p.Value)).FirstOrDefault(k => k is not null),
        JsonArray a => a.Select(FindViolationKinds).FirstOrDefault(k => k is not null),
        _ => null,
    };
}
