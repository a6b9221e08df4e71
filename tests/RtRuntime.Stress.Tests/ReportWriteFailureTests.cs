using System.CommandLine;
using System.Text.Json;
using RtRuntime.Stress.Cli;

namespace RtRuntime.Stress.Tests;

/// <summary>
/// The report folder becomes unwritable while the run goes on (removed and replaced by a file, a full disk):
/// the verdict, the FAIL lines and --json are still printed, and the exit code is still the verdict's.
/// Found by a review helper (helper-117): the write's IOException escaped, so the run printed a stack trace
/// instead of its results and exited 1 even when every invariant held; this test failed before the fix.
/// </summary>
public sealed class ReportWriteFailureTests : IDisposable
{
    private readonly TempFolder _temp = new("rtstress-wf-");

    private string Dir => _temp.Path;

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(false, StressCli.ExitPassed)]
    [InlineData(true, StressCli.ExitInvariantFailed)]
    public async Task FolderReplacedByAFileDuringTheRun_ResultsStillPrinted_ExitCodeIsTheVerdicts(bool fails, int expected)
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
        SuiteEntry[] entries = [new(new FolderBreakingScenario(Dir, fails), common.ToSettings(pr, TimeSpan.FromSeconds(1)))];
        using var o = new StringWriter();
        using var e = new StringWriter();

        int code = await SuiteRunner.RunAsync(pr, common, entries, new CliOutput(o, e, IsProcessConsole: false), "usage: rtstress [command] [options]", CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(File.Exists(Dir), "the scenario did not replace the folder");
        Assert.Equal(expected, code);
        Assert.Contains("error: the report could not be written", e.ToString(), StringComparison.Ordinal);
        using JsonDocument doc = JsonDocument.Parse(o.ToString());
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("reportFolder").ValueKind);
        Assert.Equal(!fails, doc.RootElement.GetProperty("scenarios")[0].GetProperty("passed").GetBoolean());
        if (fails)
        {
            Assert.Contains("FAIL breaks-folder: invariant 'clean-stop' failed (seed 9)", e.ToString(), StringComparison.Ordinal);
        }
    }

    /// <summary>Removes the report folder and puts a file in its place (so it cannot be written), and passes or fails.</summary>
    private sealed class FolderBreakingScenario(string folder, bool fails) : StressScenario("breaks-folder")
    {
        public override string Kind => "breaks-folder";

        protected override Task RunCoreAsync(StressSettings settings, ScenarioResult result, IProgress<ScenarioProgress>? progress, CancellationToken cancellationToken)
        {
            Directory.Delete(folder, recursive: true);
            File.WriteAllText(folder, "not a folder");
            if (fails)
            {
                result.Violations.Add(new InvariantViolation(Name, Invariants.CleanStop, "a task was left", settings.Seed) { Reproduce = result.Reproduce });
            }

            return Task.CompletedTask;
        }
    }
}
