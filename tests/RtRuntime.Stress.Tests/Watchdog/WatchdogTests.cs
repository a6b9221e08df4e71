using System.CommandLine;
using System.Text.Json;
using RtRuntime.Stress.Cli;
using Xunit.Abstractions;

namespace RtRuntime.Stress.Tests;

/// <summary>
/// The per-scenario watchdog: a scenario that hangs fails <c>watchdog</c> with its seed and what was still
/// running, and the run goes on. Each hang is bounded by the test's own timeout only to turn a hang into a
/// failure; nothing asserts a time.
/// </summary>
public sealed class WatchdogTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>Turns a hang (no watchdog) into a test failure.</summary>
    private static readonly TimeSpan HangLimit = TimeSpan.FromMinutes(2);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "rtstress-watchdog-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private void Show(ScenarioResult r)
    {
        foreach (InvariantViolation v in r.Violations)
        {
            output.WriteLine("FAIL " + v);
        }

        foreach (string note in r.Watchdog?.Notes ?? [])
        {
            output.WriteLine("note: " + note);
        }
    }

    private static StressSettings Settings(int seed, TimeSpan grace) =>
        new() { CpuCount = 2, Duration = TimeSpan.FromMilliseconds(500), Seed = seed, WatchdogGrace = grace };

    [Fact]
    public async Task BlockedTask_FailsWatchdogWithItsSeedAndTheStuckTask_ThenStopsTheRuntime()
    {
        using var scenario = new HangingScenario(HangKind.BlockedTask);

        ScenarioResult r = await scenario.RunAsync(Settings(seed: 31, grace: TimeSpan.FromSeconds(2))).WaitAsync(HangLimit);
        Show(r);

        Assert.False(r.Passed);
        InvariantViolation v = r.Violations[0];
        Assert.Equal((Invariants.Watchdog, 31), (v.Invariant, v.Seed));
        Assert.Contains("past its deadline", v.Message, StringComparison.Ordinal);
        Assert.Contains(HangingScenario.StuckTask + " [Blocked", v.Message, StringComparison.Ordinal);
        Assert.Contains("hang-watchdog.json", v.Message, StringComparison.Ordinal);
        Assert.Contains("--seed 31", v.Reproduce, StringComparison.Ordinal);
        Assert.Contains("--watchdog 2s", v.Reproduce, StringComparison.Ordinal);
        WatchdogFiring firing = Assert.IsType<WatchdogFiring>(r.Watchdog);
        RuntimeSnapshot snapshot = Assert.Single(firing.Snapshots);
        Assert.Contains(snapshot.Tasks, t => t.Name == HangingScenario.StuckTask && t.State == Tasks.RtTaskState.Blocked);
        // The task ignores the cancellation, so only the watchdog's stop of the runtime could end it.
        Assert.Contains(firing.Notes, n => n.StartsWith("runtime 0 stopped", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ScenarioIgnoringEverything_IsAbandonedAndReportedWithTheTaskPastNoPreemptionPoint()
    {
        using var scenario = new HangingScenario(HangKind.IgnoresEverything);

        ScenarioResult r = await scenario.RunAsync(Settings(seed: 32, grace: TimeSpan.FromSeconds(1))).WaitAsync(HangLimit);
        Show(r);

        Assert.Equal([Invariants.Watchdog, Invariants.ScenarioCompleted], r.Violations.Select(v => v.Invariant));
        Assert.All(r.Violations, v => Assert.Equal(32, v.Seed));
        Assert.Contains(HangingScenario.StuckTask + " [Running", r.Violations[0].Message, StringComparison.Ordinal);
        Assert.Contains("abandoned", r.Violations[1].Message, StringComparison.Ordinal);
        WatchdogFiring firing = Assert.IsType<WatchdogFiring>(r.Watchdog);
        Assert.True(firing.Abandoned);
        Assert.Contains(firing.Notes, n => n.StartsWith("runtime 0 stopped", StringComparison.Ordinal) && n.Contains("1 abandoned", StringComparison.Ordinal));
    }

    [Fact]
    public async Task InterruptedWhileHung_FailsWatchdogAfterTheSettleTime_InsteadOfWaitingForTheDeadline()
    {
        // Ctrl+C during a hang: the deadline (a minute away) is not waited for; the settle time after the interruption is.
        using var scenario = new HangingScenario(HangKind.BlockedTask);
        using var interrupt = new CancellationTokenSource();
        Task<ScenarioResult> run = scenario.RunAsync(Settings(seed: 33, grace: TimeSpan.FromMinutes(1)), cancellationToken: interrupt.Token);
        await scenario.Hanging.WaitAsync(HangLimit);
        await interrupt.CancelAsync();

        ScenarioResult r = await run.WaitAsync(HangLimit);
        Show(r);

        InvariantViolation v = r.Violations[0];
        Assert.Equal((Invariants.Watchdog, 33), (v.Invariant, v.Seed));
        Assert.Contains("after it was interrupted", v.Message, StringComparison.Ordinal);
        Assert.Contains(HangingScenario.StuckTask, v.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Suite_HungScenario_FailsWatchdog_TheNextScenarioRuns_AndTheReportHasTheSnapshot()
    {
        var common = new CommonOptions();
        var root = new RootCommand();
        foreach (Option option in common.All)
        {
            root.Options.Add(option);
        }

        common.AddValidators();
        ParseResult pr = root.Parse(["--cpus", "2", "--seed", "4711", "--watchdog", "2s", "--json", "--quiet", "--out", _dir]);
        Assert.Empty(pr.Errors);
        StressSettings settings = common.ToSettings(pr, TimeSpan.FromMilliseconds(500));
        using var hung = new HangingScenario(HangKind.BlockedTask);
        SuiteEntry[] entries = [new(hung, settings), new(new CyclicScenario("cyclic-after"), settings)];
        using var o = new StringWriter();
        using var e = new StringWriter();

        int code = await SuiteRunner.RunAsync(pr, common, entries, new CliOutput(o, e, IsProcessConsole: false), "usage: rtstress hang [options]", CancellationToken.None).WaitAsync(HangLimit);

        output.WriteLine(e.ToString());
        Assert.Equal(StressCli.ExitInvariantFailed, code);
        Assert.Contains("FAIL hang: invariant 'watchdog' failed (seed 4711)", e.ToString(), StringComparison.Ordinal);
        using JsonDocument doc = JsonDocument.Parse(o.ToString());
        JsonElement[] scenarios = [.. doc.RootElement.GetProperty("scenarios").EnumerateArray()];
        Assert.Equal(["hang", "cyclic-after"], scenarios.Select(s => s.GetProperty("name").GetString()));
        Assert.False(scenarios[0].GetProperty("passed").GetBoolean());
        Assert.Equal("watchdog", scenarios[0].GetProperty("violations")[0].GetProperty("invariant").GetString());
        Assert.True(scenarios[1].GetProperty("passed").GetBoolean(), scenarios[1].ToString());

        string snapshotFile = Path.Combine(_dir, "hang-watchdog.json");
        using JsonDocument snapshot = JsonDocument.Parse(await File.ReadAllTextAsync(snapshotFile));
        Assert.Equal(4711, snapshot.RootElement.GetProperty("seed").GetInt32());
        JsonElement tasks = snapshot.RootElement.GetProperty("runtimes")[0].GetProperty("Tasks");
        Assert.Contains(tasks.EnumerateArray(), t => t.GetProperty("Name").GetString() == HangingScenario.StuckTask);
        Assert.Contains("hang-watchdog.json", await File.ReadAllTextAsync(Path.Combine(_dir, "report.html")), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_dir, "report.json")));
    }

    [Fact]
    public async Task Cli_WatchdogOption_IsInTheReproduceCommand_AndAHealthyRunPasses()
    {
        using var o = new StringWriter();
        using var e = new StringWriter();
        int code = await StressCli.RunAsync(["cyclic", "--cpus", "2", "--duration", "500ms", "--watchdog", "45s", "--seed", "3", "--json", "--out", _dir], o, e);

        Assert.True(code == StressCli.ExitPassed, o + "\n" + e);
        using JsonDocument doc = JsonDocument.Parse(o.ToString());
        Assert.EndsWith("--watchdog 45s", doc.RootElement.GetProperty("scenarios")[0].GetProperty("reproduce").GetString(), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir, "cyclic-watchdog.json")));
    }

    [Theory]
    [InlineData(null, 5.0, 120.0)]      // default: at least 2 minutes
    [InlineData(null, 900.0, 900.0)]    // default: the planned time when longer
    [InlineData(1.5, 900.0, 1.5)]       // configured
    [InlineData(-1.0, 900.0, null)]     // off (Timeout.InfiniteTimeSpan)
    [InlineData(null, null, null)]      // no planned time (simulate): off by default
    [InlineData(3.0, null, 3.0)]        // ... unless configured
    public void Grace_DefaultConfiguredOrOff(double? configuredSeconds, double? plannedSeconds, double? expectedSeconds)
    {
        TimeSpan? configured = configuredSeconds switch { null => null, < 0 => Timeout.InfiniteTimeSpan, { } s => TimeSpan.FromSeconds(s) };
        TimeSpan? planned = plannedSeconds is { } p ? TimeSpan.FromSeconds(p) : null;

        Assert.Equal(expectedSeconds is { } x ? TimeSpan.FromSeconds(x) : null, ScenarioWatchdog.GraceFor(planned, configured));
    }

    [Fact]
    public void Settings_WatchdogGraceOutOfRange_ThrowsNamingIt()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new StressSettings { WatchdogGrace = TimeSpan.FromMilliseconds(10) }.Validate());
        Assert.Equal(nameof(StressSettings.WatchdogGrace), e.ParamName);
        new StressSettings { WatchdogGrace = Timeout.InfiniteTimeSpan }.Validate();
    }

    [Fact]
    public void Describe_ARuntimeThatGaveNoSnapshot_IsNamed_NotCalledStuckOutsideTheRuntime()
    {
        // A deadlock inside the runtime holds a CPU's lock, so its snapshot times out: the message says so
        // (it used to read "no runtime of the scenario still running (it is stuck outside the runtime)").
        const string unanswered = "runtime 0: no snapshot within 5.0 s (a CPU's lock is held: a deadlock in the runtime?)";

        Assert.Equal(unanswered, ScenarioWatchdog.Describe([], runtimes: 1, [unanswered]));
        Assert.Equal("no runtime of the scenario still running (it is stuck outside the runtime)", ScenarioWatchdog.Describe([], runtimes: 1, []));
        Assert.Equal("no runtime started through StartRuntime, no task to list", ScenarioWatchdog.Describe([], runtimes: 0, []));
    }
}
