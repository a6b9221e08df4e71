using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Json.Schema;

namespace RtRuntime.Stress.Tests;

/// <summary>One small default-suite-like CLI run shared by the report checks.</summary>
public sealed class ReportFixture : IAsyncLifetime
{
    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "rtstress-report-" + Guid.NewGuid().ToString("N"));

    public int ExitCode { get; private set; }

    public string Output { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        using var o = new StringWriter();
        using var e = new StringWriter();
        ExitCode = await StressCli.RunAsync(["--cpus", "2", "--duration", "500ms", "--seed", "9", "--out", Folder], o, e);
        Output = o + "\n" + e;
    }

    public Task DisposeAsync()
    {
        Directory.Delete(Folder, recursive: true);
        return Task.CompletedTask;
    }
}

public class ReportTests(ReportFixture fixture) : IClassFixture<ReportFixture>
{
    // Loaded once: JsonSchema.Net registers a schema by its $id globally and refuses a second registration.
    private static readonly JsonSchema Schema = JsonSchema.FromText(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "report-schema.json")));

    [Fact]
    public void DefaultSuite_RunsEveryScenarioAndPasses()
    {
        Assert.True(fixture.ExitCode == 0, fixture.Output);
        foreach (string name in new[] { "cyclic-idle", "cyclic-load", "pileup", "mixed" })
        {
            Assert.Contains(name, fixture.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void ReportJson_ValidatesAgainstTheSchema()
    {
        JsonSchema schema = Schema;
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(fixture.Folder, "report.json")));
        EvaluationResults results = schema.Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        Assert.True(results.IsValid, string.Join("\n", (results.Details ?? []).Where(d => d.Errors is not null).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}"))));
        Assert.Equal(StressReport.SchemaVersion, doc.RootElement.GetProperty("schemaVersion").GetInt32());
        Assert.Equal(4, doc.RootElement.GetProperty("scenarios").GetArrayLength());
    }

    [Fact]
    public void ReportJson_SchemaRejectsAReportMissingAField()
    {
        JsonSchema schema = Schema;
        JsonNode node = JsonNode.Parse(File.ReadAllText(Path.Combine(fixture.Folder, "report.json")))!;
        node["scenarios"]![0]!.AsObject().Remove("violations");
        using JsonDocument doc = JsonDocument.Parse(node.ToJsonString());
        Assert.False(schema.Evaluate(doc.RootElement).IsValid);
    }

    [Fact]
    public void Plots_AreWrittenAsNonEmptyPngAndSvg()
    {
        string[] pngs = Directory.GetFiles(fixture.Folder, "*.png");
        string[] svgs = Directory.GetFiles(fixture.Folder, "*.svg");
        Assert.Contains(pngs, p => Path.GetFileName(p) == "cyclic-idle-latency.png");
        Assert.Contains(pngs, p => Path.GetFileName(p) == "pileup-lost-bandwidth.png");
        Assert.Contains(pngs, p => Path.GetFileName(p) == "pileup-timeline-NoPushRunning.png");
        Assert.Equal(pngs.Length, svgs.Length);
        foreach (string png in pngs)
        {
            byte[] bytes = File.ReadAllBytes(png);
            Assert.True(bytes.Length > 1000, png);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        }

        foreach (string svg in svgs)
        {
            Assert.Contains("<svg", File.ReadAllText(svg), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void ReportHtml_ReferencesOnlyFilesThatExist()
    {
        string html = File.ReadAllText(Path.Combine(fixture.Folder, "report.html"));
        var refs = Regex.Matches(html, "(?:src|href)=\"([^\"#]+)\"").Select(m => m.Groups[1].Value).Distinct().ToList();
        Assert.Contains("report.json", refs);
        Assert.Contains(refs, r => r.EndsWith(".svg", StringComparison.Ordinal));
        foreach (string r in refs)
        {
            Assert.DoesNotContain("://", r, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(fixture.Folder, r)), "report.html references missing " + r);
        }
    }

    [Fact]
    public void LogFile_IsWrittenInTheReportFolder()
    {
        string log = File.ReadAllText(Path.Combine(fixture.Folder, "rtstress.log"));
        Assert.Contains("RtRuntime started", log, StringComparison.Ordinal);
    }
}
