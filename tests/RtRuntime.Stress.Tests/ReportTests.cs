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
        string[] fails = fixture.Output.Split('\n').Where(l => l.StartsWith("FAIL ", StringComparison.Ordinal)).ToArray();
        Assert.True(fixture.ExitCode == 0 && fails.Length == 0, fixture.Output);
        foreach (string name in new[] { "cyclic-idle", "cyclic-load", "pileup", "hotplug", "percpu", "mixed", "inversion" })
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
        Assert.Equal(7, doc.RootElement.GetProperty("scenarios").GetArrayLength());
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
        Assert.Contains(pngs, p => Path.GetFileName(p) == "hotplug-offline-wait.png"); // named for what it shows, not "-latency"
        Assert.DoesNotContain(pngs, p => Path.GetFileName(p) == "hotplug-latency.png");
        using (JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(fixture.Folder, "report.json"))))
        {
            JsonElement hotplug = doc.RootElement.GetProperty("scenarios").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "hotplug");
            Assert.Contains(hotplug.GetProperty("plots").EnumerateArray(), p => p.GetProperty("png").GetString() == "hotplug-offline-wait.png");
        }

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
        Assert.Contains("hotplug-offline-wait.svg", refs);
        foreach (string r in refs)
        {
            Assert.DoesNotContain("://", r, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(fixture.Folder, r)), "report.html references missing " + r);
        }
    }

    [Fact]
    public async Task SimulateReportJson_ValidatesAgainstTheSchema()
    {
        string folder = Path.Combine(Path.GetTempPath(), "rtstress-sim-report-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var o = new StringWriter();
            using var e = new StringWriter();
            int code = await StressCli.RunAsync(["simulate", Path.Combine(AppContext.BaseDirectory, "examples", "deferred-affinity.json"), "--quiet", "--out", folder], o, e);
            Assert.True(code == 0, o + "\n" + e);
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "report.json")));
            EvaluationResults results = Schema.Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
            Assert.True(results.IsValid, string.Join("\n", (results.Details ?? []).Where(d => d.Errors is not null).SelectMany(d => d.Errors!.Select(x => $"{d.InstanceLocation}: {x.Value}"))));
            Assert.True(doc.RootElement.GetProperty("scenarios")[0].TryGetProperty("simulation", out _));
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    [Fact]
    public void PileupReport_ShowsTheRuntimesLostBandwidthBesideTheMeasuredOne()
    {
        string json = File.ReadAllText(Path.Combine(fixture.Folder, "report.json"));
        Assert.Contains("runtime_lost_cpu_ms_per_s.WorkConserving", json, StringComparison.Ordinal);
        Assert.Contains("runtime lost CPU-ms/s", json, StringComparison.Ordinal);
    }

    [ChromiumFact]
    public async Task ReportHtml_RendersInHeadlessChromium()
    {
        const string chromium = ChromiumFactAttribute.Path;
        string tmp = Path.Combine(Path.GetTempPath(), "rtstress-chromium-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(tmp);
        try
        {
            string shot = Path.Combine(tmp, "shot.png");
            var psi = new System.Diagnostics.ProcessStartInfo(chromium)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (string arg in new[]
            {
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--user-data-dir=" + Path.Combine(tmp, "profile"), "--window-size=1200,3000", "--screenshot=" + shot,
                new Uri(Path.Combine(fixture.Folder, "report.html")).AbsoluteUri,
            })
            {
                psi.ArgumentList.Add(arg);
            }

            using var process = System.Diagnostics.Process.Start(psi)!;
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }

            string log = await stdout + await stderr;
            Assert.True(File.Exists(shot), "chromium wrote no screenshot: " + log);
            byte[] bytes = await File.ReadAllBytesAsync(shot);
            Assert.True(bytes.Length > 1000, "screenshot is " + bytes.Length + " bytes: " + log);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        }
        finally
        {
            Directory.Delete(tmp, recursive: true);
        }
    }

    [Fact]
    public void LogFile_IsWrittenInTheReportFolder()
    {
        string log = File.ReadAllText(Path.Combine(fixture.Folder, "rtstress.log"));
        Assert.Contains("RtRuntime started", log, StringComparison.Ordinal);
    }
}
