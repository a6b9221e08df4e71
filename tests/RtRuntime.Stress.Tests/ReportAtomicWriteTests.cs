using System.CommandLine;
using System.Text.Json;
using RtRuntime.Simulation;
using RtRuntime.Stress.Cli;
using RtRuntime.Stress.Reporting;

namespace RtRuntime.Stress.Tests;

/// <summary>
/// Each report file is written to a temporary file in the report folder and renamed over its name, so an
/// interrupted or failed write never leaves a truncated file that looks like a real report, and no temporary
/// file is left behind. Found by a review helper (helper-134): the files were written in place. Never asserts timings.
/// </summary>
public sealed class ReportAtomicWriteTests : IDisposable
{
    private const string Scenario = """
        { "cpus": 2, "tasks": [ { "name": "A", "priority": 10, "steps": [ { "run": 100 }, { "sleep": 10 }, { "run": 100 } ] },
                                { "name": "B", "priority": 20, "steps": [ { "run": 50 } ] } ] }
        """;

    private readonly TempFolder _temp = new("rtstress-aw-");

    private string Dir => _temp.Path;

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task WriteAsync_EveryFileIsComplete_AndNoTemporaryFileIsLeft()
    {
        ScenarioResult r = await new SimulateScenario(SimScenario.FromJson(Scenario)).RunAsync(new StressSettings { Seed = 0 });
        var report = new StressReport(new StressSettings { Seed = 0 }, [r], "rtstress simulate x", DateTimeOffset.UnixEpoch, TimeSpan.Zero);

        IReadOnlyList<string> files = await report.WriteAsync(Dir);

        Assert.Equal(files.Order(StringComparer.Ordinal), Directory.GetFiles(Dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Contains("simulate-trace.txt", files);
        Assert.Equal(r.Simulation!.Trace.Select(e => e.ToString()), File.ReadAllLines(Path.Combine(Dir, "simulate-trace.txt")));
        using (JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "report.json"))))
        {
            Assert.Equal("simulate", doc.RootElement.GetProperty("scenarios")[0].GetProperty("name").GetString());
        }

        Assert.EndsWith("</html>", File.ReadAllText(Path.Combine(Dir, "report.html")).TrimEnd(), StringComparison.Ordinal);
        foreach (string png in files.Where(f => f.EndsWith(".png", StringComparison.Ordinal)))
        {
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(Path.Combine(Dir, png))[..4]);
        }

        foreach (string svg in files.Where(f => f.EndsWith(".svg", StringComparison.Ordinal)))
        {
            Assert.EndsWith("</svg>", File.ReadAllText(Path.Combine(Dir, svg)).TrimEnd(), StringComparison.Ordinal);
        }

        AssertNoTemporaryFile();
    }

    [Fact]
    public async Task WriteAsync_AFolderWhereReportJsonGoes_FailsSayingSo_AndLeavesNoTemporaryFile()
    {
        ScenarioResult r = await new SimulateScenario(SimScenario.FromJson(Scenario)).RunAsync(new StressSettings { Seed = 0 });
        var report = new StressReport(new StressSettings { Seed = 0 }, [r], "rtstress simulate x", DateTimeOffset.UnixEpoch, TimeSpan.Zero);
        Directory.CreateDirectory(Path.Combine(Dir, "report.json"));

        IOException ex = await Assert.ThrowsAsync<IOException>(() => report.WriteAsync(Dir));

        Assert.Contains(Path.Combine(Dir, "report.json"), ex.Message, StringComparison.Ordinal);
        Assert.Contains("a folder of that name is in the way", ex.Message, StringComparison.Ordinal);
        Assert.True(Directory.Exists(Path.Combine(Dir, "report.json")));
        AssertNoTemporaryFile();
    }

    [Fact]
    public async Task ReportFile_AWriteThatFailsHalfWay_LeavesThePreviousFileAndNoTemporaryFile()
    {
        Directory.CreateDirectory(Dir);
        string path = Path.Combine(Dir, "report.json");
        await File.WriteAllTextAsync(path, "{ \"previous\": true }");

        await Assert.ThrowsAsync<IOException>(() => ReportFile.WriteAsync(path, async (stream, ct) =>
        {
            await stream.WriteAsync(new byte[100_000], ct);
            throw new IOException("No space left on device");
        }, CancellationToken.None));

        Assert.Equal("{ \"previous\": true }", await File.ReadAllTextAsync(path));
        AssertNoTemporaryFile();
    }

    [Fact]
    public async Task ReportFile_AWriteCancelledHalfWay_LeavesNoFileAndNoTemporaryFile()
    {
        Directory.CreateDirectory(Dir);
        string path = Path.Combine(Dir, "simulate-trace.txt");
        using var cts = new CancellationTokenSource();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ReportFile.WriteAsync(path, async (stream, ct) =>
        {
            await stream.WriteAsync(new byte[100_000], ct);
            await cts.CancelAsync(); // the second Ctrl+C, half-way through
            ct.ThrowIfCancellationRequested();
        }, cts.Token));

        Assert.False(File.Exists(path));
        AssertNoTemporaryFile();
    }

    [Fact]
    public async Task Cli_AFolderWhereReportJsonGoes_PrintsAClearError_ExitCodeIsTheVerdicts()
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
        SuiteEntry[] entries = [new(new BlockingReportJson(Path.Combine(Dir, "report.json")), common.ToSettings(pr, TimeSpan.FromSeconds(1)))];
        using var o = new StringWriter();
        using var e = new StringWriter();

        int code = await SuiteRunner.RunAsync(pr, common, entries, new CliOutput(o, e, IsProcessConsole: false), "usage: rtstress [command] [options]", CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(StressCli.ExitPassed, code);
        Assert.Contains($"error: the report could not be written to '{Dir}': cannot write '{Path.Combine(Dir, "report.json")}': a folder of that name is in the way", e.ToString(), StringComparison.Ordinal);
        using JsonDocument doc = JsonDocument.Parse(o.ToString());
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("reportFolder").ValueKind);
        AssertNoTemporaryFile();
    }

    private void AssertNoTemporaryFile() =>
        Assert.Empty(Directory.GetFiles(Dir, "*" + ReportFile.TempSuffix).Concat(Directory.GetFiles(Dir, ".*")));

    /// <summary>Passes, and puts a folder where report.json goes.</summary>
    private sealed class BlockingReportJson(string path) : StressScenario("blocks-report")
    {
        public override string Kind => "blocks-report";

        protected override Task RunCoreAsync(StressSettings settings, ScenarioResult result, IProgress<ScenarioProgress>? progress, CancellationToken cancellationToken)
        {
            Directory.CreateDirectory(path);
            return Task.CompletedTask;
        }
    }
}
