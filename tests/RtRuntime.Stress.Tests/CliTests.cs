using System.Text.Json;

namespace RtRuntime.Stress.Tests;

/// <summary>The CLI entry point in-process: exit codes, messages, --json. Never asserts timings.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "rtstress-cli-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        using var o = new StringWriter();
        using var e = new StringWriter();
        int code = await StressCli.RunAsync(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    private string Out(string name) => Path.Combine(_dir, name);

    [Fact]
    public async Task Cyclic_Tiny_ExitsZeroWithTableAndReport()
    {
        var (code, stdout, stderr) = await Run("cyclic", "--cpus", "2", "--duration", "1s", "--interval", "500us", "--seed", "3", "--out", Out("c"));
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("PASS", stdout, StringComparison.Ordinal);
        Assert.Contains("cyclic", stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(Out("c"), "report.json")));
        Assert.True(File.Exists(Path.Combine(Out("c"), "rtstress.log")));
    }

    [Fact]
    public async Task Cyclic_LoadMigrateDisabled_ExitsZero()
    {
        var (code, stdout, stderr) = await Run("cyclic", "--cpus", "2", "--duration", "1s", "--load-migrate-disabled", "--load-point", "20us", "--out", Out("cl"));
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("cyclic-load-md", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pileup_OnePolicy_JsonSummaryOnStdout()
    {
        var (code, stdout, stderr) = await Run("pileup", "--cpus", "2", "--duration", "500ms", "--policy", "KernelFaithful", "--json", "--out", Out("p"));
        Assert.True(code == 0, stdout + stderr);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        JsonElement scenario = doc.RootElement.GetProperty("scenarios")[0];
        Assert.Equal("pileup", scenario.GetProperty("kind").GetString());
        Assert.True(scenario.GetProperty("passed").GetBoolean());
        Assert.True(scenario.GetProperty("figures").TryGetProperty("lost_pct.KernelFaithful", out _));
        Assert.False(scenario.GetProperty("figures").TryGetProperty("lost_pct.NoPushRunning", out _));
    }

    [Fact]
    public async Task Mixed_Quiet_ExitsZeroAndPrintsNothing()
    {
        var (code, stdout, stderr) = await Run("mixed", "--cpus", "2", "--duration", "1s", "--seed", "21", "--quiet", "--out", Out("m"));
        Assert.True(code == 0, stdout + stderr);
        Assert.Equal(string.Empty, stdout);
        Assert.Equal(string.Empty, stderr);
    }

    [Fact]
    public async Task Mixed_InjectedViolation_ExitsOneNamingInvariantAndSeed()
    {
        var (code, stdout, stderr) = await Run("mixed", "--cpus", "2", "--duration", "1s", "--seed", "4242", "--inject", "bug", "--out", Out("f"));
        Assert.Equal(StressCli.ExitInvariantFailed, code);
        Assert.Contains("FAIL", stdout, StringComparison.Ordinal);
        Assert.Contains("invariant 'no-bug-reports' failed (seed 4242)", stderr, StringComparison.Ordinal);
        Assert.Contains("reproduce: rtstress mixed --inject bug", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--duration must be", "cyclic", "--duration", "-2s")]
    [InlineData("--duration '", "mixed", "--duration", "soon")]
    [InlineData("--policy", "pileup", "--policy", "Fastest")]
    [InlineData("--cpus must be 1..1024", "--cpus", "1025")]
    [InlineData("--interval must be", "cyclic", "--interval", "10us")]
    [InlineData("--pin and --no-pin", "cyclic", "--pin", "--no-pin")]
    [InlineData("Unrecognized command or argument", "hotplug")]
    public async Task BadArguments_ExitTwoWithUsageAndReason(string reason, params string[] args)
    {
        var (code, stdout, stderr) = await Run(args);
        Assert.Equal(StressCli.ExitBadArguments, code);
        Assert.StartsWith("usage: rtstress", stderr, StringComparison.Ordinal);
        Assert.Contains(reason, stderr, StringComparison.Ordinal);
        Assert.Equal(string.Empty, stdout);
    }

    [Fact]
    public async Task UnwritableOutputFolder_ExitsTwo()
    {
        Directory.CreateDirectory(_dir);
        string file = Path.Combine(_dir, "a-file");
        await File.WriteAllTextAsync(file, "x");
        var (code, _, stderr) = await Run("cyclic", "--duration", "1s", "--out", Path.Combine(file, "sub"));
        Assert.Equal(StressCli.ExitBadArguments, code);
        Assert.Contains("cannot write the report folder", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_ListsOnlyWorkingSubcommands()
    {
        var (code, stdout, _) = await Run("--help");
        Assert.Equal(0, code);
        Assert.Contains("cyclic", stdout, StringComparison.Ordinal);
        Assert.Contains("pileup", stdout, StringComparison.Ordinal);
        Assert.Contains("mixed", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("hotplug", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("simulate", stdout, StringComparison.Ordinal);
    }
}
