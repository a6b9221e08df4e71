using System.Text.Json;
using RtRuntime.Stress.Cli;

namespace RtRuntime.Stress.Tests;

/// <summary>The CLI entry point in-process: exit codes, messages, --json. Never asserts timings.</summary>
public sealed class CliTests : IDisposable
{
    private readonly TempFolder _temp = new("rtstress-cli-");

    private string Dir => _temp.Path;

    public void Dispose() => _temp.Dispose();

    private async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        using var o = new StringWriter();
        using var e = new StringWriter();
        int code = await StressCli.RunAsync(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    private string Out(string name) => Path.Combine(Dir, name);

    [Fact]
    public async Task Interrupted_MidScenario_Exits130WithTheReportOfWhatRanAndTheScenarioNotPassed()
    {
        // Ctrl+C: cancel once the scenario has started (its log line), long before its 60 s are up.
        string folder = Out("int");
        using var cts = new CancellationTokenSource();
        using var o = new StringWriter();
        using var e = new StringWriter();
        Task<int> run = StressCli.RunAsync(["mixed", "--cpus", "2", "--duration", "60s", "--seed", "5", "--json", "--out", folder], o, e, cts.Token);
        string log = Path.Combine(folder, "rtstress.log");
        Assert.True(SpinWait.SpinUntil(() => ReadShared(log).Contains("[mixed] starting", StringComparison.Ordinal), TimeSpan.FromSeconds(60)), "the scenario never started");
        await cts.CancelAsync();

        Assert.Equal(StressCli.ExitInterrupted, await run.WaitAsync(TimeSpan.FromSeconds(60)));
        using JsonDocument doc = JsonDocument.Parse(o.ToString());
        JsonElement scenario = doc.RootElement.GetProperty("scenarios")[0];
        Assert.False(scenario.GetProperty("passed").GetBoolean());
        Assert.Contains("interrupted after", e.ToString(), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(folder, "report.json")));
        Assert.True(File.Exists(Path.Combine(folder, "report.html")));
    }

    /// <summary>
    /// For a failure message: the errors of a run's log and the watchdog's notes (a "spinlock lockup
    /// suspected" report, an unanswered snapshot), which this class deletes with its folder. A mixed run
    /// that froze in CI once left only "stuck outside the runtime" to read.
    /// </summary>
    private static string LogProblems(string folder) =>
        string.Concat(ReadShared(Path.Combine(folder, "rtstress.log")).Split('\n')
            .Where(l => l.Contains(" ERR ", StringComparison.Ordinal) || l.Contains(" FTL ", StringComparison.Ordinal) || l.Contains("] watchdog: ", StringComparison.Ordinal))
            .Select(l => "\nlog: " + l));

    /// <summary>Reads a file another writer holds open.</summary>
    private static string ReadShared(string path)
    {
        if (!File.Exists(path))
        {
            return string.Empty;
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

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
    public async Task SecondRunIntoTheSameFolder_ItsLogHoldsThatRunOnly()
    {
        // The report files of a run into a folder replace the earlier run's; its log was appended to the
        // earlier run's, so a PASS run's rtstress.log could hold the BUG and ERR lines of the run before.
        string folder = Out("again");
        var (code1, out1, err1) = await Run("pileup", "--cpus", "2", "--duration", "200ms", "--policy", "KernelFaithful", "--seed", "101", "--out", folder);
        Assert.True(code1 == 0, out1 + err1);
        var (code2, out2, err2) = await Run("pileup", "--cpus", "2", "--duration", "200ms", "--policy", "KernelFaithful", "--seed", "202", "--out", folder);
        Assert.True(code2 == 0, out2 + err2);

        string log = ReadShared(Path.Combine(folder, "rtstress.log"));
        Assert.Contains(", seed 202, report folder", log, StringComparison.Ordinal);
        Assert.DoesNotContain(", seed 101, report folder", log, StringComparison.Ordinal);
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
    public async Task DefaultSuite_WithAPolicy_RunsPileupUnderThatPolicyOnly()
    {
        // --help: "Unless given, pileup compares all three". Given to the suite, its pileup runs that policy only.
        var (code, stdout, stderr) = await Run("--cpus", "2", "--duration", "100ms", "--seed", "3", "--policy", "NoPushRunning", "--json", "--quiet", "--out", Out("s"));
        Assert.True(code is 0 or 1, stdout + stderr);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        JsonElement pileup = doc.RootElement.GetProperty("scenarios").EnumerateArray().Single(s => s.GetProperty("kind").GetString() == "pileup");
        Assert.True(pileup.GetProperty("figures").TryGetProperty("lost_pct.NoPushRunning", out _), pileup.ToString());
        Assert.False(pileup.GetProperty("figures").TryGetProperty("lost_pct.WorkConserving", out _), pileup.ToString());
        Assert.Contains("--policy NoPushRunning", pileup.GetProperty("reproduce").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--load-tasks", "3")]
    [InlineData("--load-point", "20us")]
    public async Task Cyclic_AnOptionThatShapesTheLoad_ImpliesLoad(string option, string value)
    {
        // Before, either was accepted without --load and changed nothing: the run had no hogs.
        var (code, stdout, stderr) = await Run("cyclic", "--cpus", "2", "--duration", "100ms", "--seed", "3", option, value, "--json", "--quiet", "--out", Out("l" + option));
        Assert.True(code is 0 or 1, stdout + stderr);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        JsonElement cyclic = doc.RootElement.GetProperty("scenarios").EnumerateArray().Single();
        Assert.Equal("cyclic-load", cyclic.GetProperty("name").GetString());
        Assert.Contains(option + " " + value, cyclic.GetProperty("reproduce").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mixed_Quiet_ExitsZeroAndPrintsNothing()
    {
        // --no-hotplug: hotplug churn is covered by Mixed_HotplugChurn_NoTaskOnAnOfflineCpu; this one checks the quiet output.
        var (code, stdout, stderr) = await Run("mixed", "--cpus", "2", "--duration", "1s", "--seed", "21", "--quiet", "--no-hotplug", "--out", Out("m"));
        Assert.True(code == 0, stdout + stderr + LogProblems(Out("m")));
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

    [Fact]
    public async Task Pin_Alone_IsAccepted()
    {
        // Every printed reproduce command ends in --pin: alone it must run, not clash with the unset --no-pin.
        var (code, stdout, stderr) = await Run("cyclic", "--cpus", "1", "--duration", "200ms", "--seed", "3", "--pin", "--quiet", "--out", Out("pin"));
        Assert.True(code == 0, stdout + stderr);
        Assert.Equal(string.Empty, stderr);
    }

    [Fact]
    public async Task ReproduceCommand_OfAnInjectedViolation_RunsThroughTheCli_AndFailsTheSameInvariant()
    {
        ScenarioResult r = await new MixedScenario { Inject = MixedInjection.Bug }.RunAsync(new StressSettings { CpuCount = 2, Duration = TimeSpan.FromSeconds(1), Seed = 4243 });
        InvariantViolation v = Assert.Single(r.Violations, v => v.Invariant == Invariants.NoBugReports);
        string[] words = v.Reproduce.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("rtstress", words[0]);
        Assert.Equal("--pin", words[^1]);

        var (code, stdout, stderr) = await Run([.. words.Skip(1), "--quiet", "--out", Out("repro")]);
        Assert.True(code == StressCli.ExitInvariantFailed, $"exit {code}: {stdout}{stderr}");
        Assert.Contains($"invariant '{v.Invariant}' failed (seed 4243)", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReportCommand_IsTheArguments_WithNoTrailingSpaceForTheNoArgumentRun()
    {
        // The no-argument run is the minute-long default suite: its command line is checked directly, the CLI path through a subcommand.
        Assert.Equal("rtstress", SuiteRunner.CommandLine([]));
        var (code, stdout, stderr) = await Run("percpu", "--cpus", "1", "--duration", "350ms", "--seed", "2", "--quiet", "--out", Out("cmd"));
        Assert.True(code == 0, stdout + stderr);
        using JsonDocument doc = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(Out("cmd"), "report.json")));
        Assert.Equal("rtstress percpu --cpus 1 --duration 350ms --seed 2 --quiet --out " + Out("cmd"), doc.RootElement.GetProperty("command").GetString());
    }

    [Fact]
    public async Task ReportLine_CountsEveryFileInTheFolder()
    {
        string file = Path.Combine(AppContext.BaseDirectory, "examples", "pileup.json");
        string folder = Out("count");
        var (code, stdout, stderr) = await Run("simulate", file, "--trace-lines", "0", "--out", folder);
        Assert.True(code == 0, stdout + stderr);
        int files = Directory.GetFiles(folder).Length;
        Assert.Contains($"Report: {files} files in", stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--seed 'abc' is not an integer; give an integer -2147483648..2147483647.", "--seed", "abc")]
    [InlineData("--seed must be -2147483648..2147483647; got 99999999999.", "cyclic", "--seed", "99999999999")]
    [InlineData("--cpus 'abc' is not an integer; give an integer 1..1024.", "--cpus", "abc")]
    [InlineData("--cpus '2.5' is not an integer; give an integer 1..1024.", "mixed", "--cpus", "2.5")]
    [InlineData("--priority 'high' is not an integer; give an integer 1..99.", "cyclic", "--priority", "high")]
    [InlineData("--load-tasks 'x' is not an integer; give an integer 1..4096.", "cyclic", "--load-tasks", "x")]
    [InlineData("--max-live 'x' is not an integer; give an integer 1..100000.", "mixed", "--max-live", "x")]
    [InlineData("--tasks-per-cpu 'x' is not an integer; give an integer 1..1000.", "hotplug", "--tasks-per-cpu", "x")]
    [InlineData("--max-gap-ms 'x' is not an integer; give an integer 0..1000.", "hotplug", "--max-gap-ms", "x")]
    [InlineData("--max-events 'x' is not an integer; give an integer 1..50000000.", "simulate", "x.json", "--max-events", "x")]
    [InlineData("--trace-lines 'x' is not an integer; give an integer 0..1000000.", "simulate", "x.json", "--trace-lines", "x")]
    [InlineData("--policy 'Fastest' is not one of WorkConserving, KernelFaithful, NoPushRunning.", "pileup", "--policy", "Fastest")]
    [InlineData("--model 'x' is not one of Rt, NonRt.", "--model", "x")]
    [InlineData("--inject 'x' is not one of None, Bug, Pinned.", "mixed", "--inject", "x")]
    [InlineData("--inject 'x' is not one of None, NoInheritance.", "inversion", "--inject", "x")]
    public async Task MalformedValues_ExitTwoNamingTheOptionTheValueAndWhatIsAllowed(string message, params string[] args)
    {
        var (code, stdout, stderr) = await Run(args);
        Assert.Equal(StressCli.ExitBadArguments, code);
        Assert.StartsWith("usage: rtstress", stderr, StringComparison.Ordinal);
        Assert.Contains("error: " + message, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Cannot parse", stderr, StringComparison.Ordinal);
        Assert.Equal(string.Empty, stdout);
    }

    [Theory]
    [InlineData("--duration must be", "cyclic", "--duration", "-2s")]
    [InlineData("--duration '", "mixed", "--duration", "soon")]
    [InlineData("--policy", "pileup", "--policy", "Fastest")]
    [InlineData("--cpus must be 1..1024", "--cpus", "1025")]
    [InlineData("--interval must be", "cyclic", "--interval", "10us")]
    [InlineData("--pin and --no-pin", "cyclic", "--pin", "--no-pin")]
    [InlineData("--watchdog must be 100ms..24h, or off; got -5s (negative)", "cyclic", "--watchdog", "-5s")]
    [InlineData("--watchdog must be 100ms..24h, or off; got 0", "--watchdog", "0")]
    [InlineData("--watchdog 'never' is not a duration; write e.g. 30s, 5m or off", "mixed", "--watchdog", "never")]
    [InlineData("--cpu-dma-latency must be 0us..1s; got 5s", "cyclic", "--cpu-dma-latency", "5s")]
    [InlineData("--cpu-dma-latency must be whole microseconds (the kernel's request is in µs); got 500ns", "cyclic", "--cpu-dma-latency", "500ns")]
    [InlineData("--cpu-dma-latency must be whole microseconds (the kernel's request is in µs); got 1.5us", "--cpu-dma-latency", "1.5us")]
    [InlineData("Unrecognized command or argument", "bogus")]
    [InlineData("hotplug needs --cpus 2 or more", "hotplug", "--cpus", "1")]
    [InlineData("pileup needs --cpus 2 or more", "pileup", "--cpus", "1")]
    [InlineData("--max-gap-ms must be", "hotplug", "--max-gap-ms", "-1")]
    [InlineData("Required argument missing", "simulate")]
    [InlineData("--trace-lines must be", "simulate", "x.json", "--trace-lines", "-1")]
    public async Task BadArguments_ExitTwoWithUsageAndReason(string reason, params string[] args)
    {
        var (code, stdout, stderr) = await Run(args);
        Assert.Equal(StressCli.ExitBadArguments, code);
        Assert.StartsWith("usage: rtstress", stderr, StringComparison.Ordinal);
        Assert.Contains(reason, stderr, StringComparison.Ordinal);
        Assert.Equal(string.Empty, stdout);
    }

    [Fact]
    public async Task UnwritableOutputFolder_ExitsTwoWithThatSubcommandsUsage()
    {
        Directory.CreateDirectory(Dir);
        string file = Path.Combine(Dir, "a-file");
        await File.WriteAllTextAsync(file, "x");
        var (code, _, stderr) = await Run("cyclic", "--duration", "1s", "--out", Path.Combine(file, "sub"));
        Assert.Equal(StressCli.ExitBadArguments, code);
        Assert.StartsWith("usage: rtstress cyclic [options]", stderr, StringComparison.Ordinal);
        Assert.Contains("cannot write the report folder", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_ListsEverySubcommand()
    {
        var (code, stdout, _) = await Run("--help");
        Assert.Equal(0, code);
        foreach (string command in new[] { "cyclic", "pileup", "hotplug", "percpu", "mixed", "inversion", "simulate" })
        {
            Assert.Contains(command, stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Help_DescribesEveryScenarioOfTheDefaultSuite()
    {
        // The root's description lists what the default suite runs; it left out inversion (in the suite
        // since the thirty-third session). Found by a review helper (helper-117); failed before the fix.
        var (code, stdout, _) = await Run("--help");
        Assert.Equal(0, code);
        string description = stdout[..stdout.IndexOf("Usage:", StringComparison.Ordinal)];
        foreach (string scenario in new[] { "cyclic idle", "cyclic under load", "pileup", "hotplug", "percpu", "mixed", "inversion" })
        {
            Assert.Contains(scenario, description, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Hotplug_Tiny_ExitsZeroWithOfflineWaitsAndOps()
    {
        var (code, stdout, stderr) = await Run("hotplug", "--cpus", "2", "--duration", "1s", "--seed", "5", "--json", "--out", Out("h"));
        Assert.True(code == 0, stdout + stderr);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        JsonElement figures = doc.RootElement.GetProperty("scenarios")[0].GetProperty("figures");
        Assert.True(figures.GetProperty("hotplug_ops").GetDouble() > 0);
        Assert.True(figures.TryGetProperty("offline_wait_p99_us", out _));
        Assert.True(figures.TryGetProperty("ops_per_s", out _));
        Assert.True(figures.GetProperty("percpu_increments").GetDouble() > 0);
    }

    [Fact]
    public async Task PerCpu_Tiny_ReportsEveryMethodAndPasses()
    {
        var (code, stdout, stderr) = await Run("percpu", "--cpus", "2", "--duration", "700ms", "--seed", "5", "--json", "--out", Out("pc"));
        Assert.True(code == 0, stdout + stderr);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        JsonElement figures = doc.RootElement.GetProperty("scenarios")[0].GetProperty("figures");
        foreach (string key in new[] { "percpu_counter", "interlocked", "threadlocal", "percpu_pool", "concurrent_bag", "array_pool", "object_pool" })
        {
            Assert.True(figures.GetProperty(key + "_ops_per_s").GetDouble() > 0, key);
        }

        Assert.True(figures.TryGetProperty("counter_ratio_percpu_vs_interlocked", out _));
    }

    [Fact]
    public async Task Inversion_Tiny_PassesWithTheMiddleTaskHeldOffOnlyUnderTheRtMutex()
    {
        var (code, stdout, stderr) = await Run("inversion", "--cpus", "2", "--duration", "400ms", "--middle-work", "200us", "--seed", "5", "--json", "--out", Out("inv"));
        Assert.True(code == 0, stdout + stderr);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        JsonElement scenario = doc.RootElement.GetProperty("scenarios")[0];
        JsonElement figures = scenario.GetProperty("figures");
        Assert.True(figures.GetProperty("rounds").GetDouble() >= 2);
        Assert.Equal(0, figures.GetProperty("middle_chunks_during_mutex_waits").GetDouble());
        Assert.True(figures.GetProperty("middle_chunks_during_semaphore_waits").GetDouble() > 0, "without inheritance the middle task runs while the high task waits");
        using JsonDocument report = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(Out("inv"), "report.json")));
        Assert.True(report.RootElement.GetProperty("scenarios")[0].GetProperty("checks").GetInt64() >= 1);
    }

    [Theory]
    [InlineData("--middle-work", "5us", "10us..1s")]
    [InlineData("--holder-rest", "2s", "0..1s")]
    public async Task Inversion_AnOptionOutOfRange_ExitsTwoNamingIt(string option, string value, string range)
    {
        var (code, _, stderr) = await Run("inversion", option, value, "--quiet", "--out", Out("inv-bad"));
        Assert.Equal(StressCli.ExitBadArguments, code);
        Assert.Contains(option, stderr, StringComparison.Ordinal);
        Assert.Contains(range, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mixed_AffinityChanges_ExitsZeroAndChangesAffinities()
    {
        var (code, stdout, stderr) = await Run("mixed", "--cpus", "2", "--duration", "1s", "--seed", "8", "--no-hotplug", "--json", "--out", Out("ma"));
        Assert.True(code == 0, stdout + stderr);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        JsonElement figures = doc.RootElement.GetProperty("scenarios")[0].GetProperty("figures");
        Assert.True(figures.GetProperty("affinity_changes").GetDouble() > 0);
        Assert.True(figures.GetProperty("percpu_increments").GetDouble() > 0);
        Assert.True(figures.GetProperty("mutex_sections").GetDouble() > 0);
        Assert.True(figures.TryGetProperty("mutex_timed_out", out _) && figures.TryGetProperty("mutex_try_failed", out _), "the timed and try-lock sections' figures");
    }

    [Fact]
    public async Task Mixed_HotplugChurn_NoTaskOnAnOfflineCpu()
    {
        for (int seed = 1; seed <= 5; seed++)
        {
            var (code, stdout, stderr) = await Run("mixed", "--cpus", "2", "--duration", "3s", "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "--no-affinity-changes", "--quiet", "--out", Out("mh" + seed));
            Assert.True(code == 0, stdout + stderr + LogProblems(Out("mh" + seed)));
        }
    }

    public static TheoryData<string> Examples() =>
        new(Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "examples"), "*.json").Select(Path.GetFileName).Order(StringComparer.Ordinal)!);

    [Theory]
    [MemberData(nameof(Examples))]
    public async Task Simulate_EachExample_ExitsZeroWithTraceAndFigures(string example)
    {
        string file = Path.Combine(AppContext.BaseDirectory, "examples", example);
        var (code, stdout, stderr) = await Run("simulate", file, "--out", Out("s-" + example));
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("SwitchIn", stdout, StringComparison.Ordinal);
        Assert.Contains("lost bandwidth", stdout, StringComparison.Ordinal);
        Assert.Contains("PASS", stdout, StringComparison.Ordinal);
        string folder = Out("s-" + example);
        Assert.True(new FileInfo(Path.Combine(folder, "simulate-trace.txt")).Length > 0);
        using JsonDocument doc = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(folder, "report.json")));
        JsonElement sim = doc.RootElement.GetProperty("scenarios")[0].GetProperty("simulation");
        Assert.True(sim.GetProperty("trace").GetArrayLength() > 0);
        Assert.Equal(0, sim.GetProperty("violations").GetArrayLength());
    }

    [Fact]
    public async Task Simulate_PriorityInversionExample_ReportsTheLockWaitAndTheBoost()
    {
        string file = Path.Combine(AppContext.BaseDirectory, "examples", "priority-inversion.json");
        var (code, stdout, stderr) = await Run("simulate", file, "--quiet", "--out", Out("s-pi"));
        Assert.True(code == 0, stdout + stderr);
        using JsonDocument doc = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(Out("s-pi"), "report.json")));
        JsonElement[] tasks = [.. doc.RootElement.GetProperty("scenarios")[0].GetProperty("simulation").GetProperty("tasks").EnumerateArray()];
        JsonElement Task(string name) => tasks.Single(t => t.GetProperty("name").GetString() == name);
        Assert.Equal(80, Task("H").GetProperty("lockWaitUs").GetInt64());
        Assert.Equal(80, Task("L").GetProperty("boostedUs").GetInt64());
        Assert.Equal(110, Task("H").GetProperty("exitUs").GetInt64()); // before M's 500 µs of work, which ends at 610
    }

    [Fact]
    public async Task Simulate_SameSeed_SameTrace_AndJsonOnStdout()
    {
        string file = Path.Combine(AppContext.BaseDirectory, "examples", "periodic-workers.json");
        var (code1, out1, err1) = await Run("simulate", file, "--seed", "7", "--json", "--out", Out("sj1"));
        var (code2, out2, _) = await Run("simulate", file, "--seed", "7", "--json", "--out", Out("sj2"));
        Assert.True(code1 == 0 && code2 == 0, out1 + err1);
        using JsonDocument a = JsonDocument.Parse(out1);
        using JsonDocument b = JsonDocument.Parse(out2);
        JsonElement simA = a.RootElement.GetProperty("scenarios")[0].GetProperty("simulation");
        JsonElement simB = b.RootElement.GetProperty("scenarios")[0].GetProperty("simulation");
        Assert.Equal(simA.GetProperty("trace").GetRawText(), simB.GetProperty("trace").GetRawText());
        Assert.Equal(7, simA.GetProperty("seed").GetInt64());
        Assert.Contains("rtstress simulate", a.RootElement.GetProperty("scenarios")[0].GetProperty("reproduce").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Simulate_PolicyOverride_IsAppliedAndInTheReproduceCommand()
    {
        string file = Path.Combine(AppContext.BaseDirectory, "examples", "pileup.json");
        var (code, stdout, stderr) = await Run("simulate", file, "--policy", "NoPushRunning", "--json", "--out", Out("so"));
        Assert.True(code == 0, stdout + stderr);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        Assert.Contains("--policy NoPushRunning", doc.RootElement.GetProperty("scenarios")[0].GetProperty("reproduce").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Simulate_MaxEvents_IsInTheReproduceCommand_WhichRerunsTheSameCutOffRun()
    {
        // --max-events cuts the run off: a reproduce command without it reran the whole simulation instead.
        string file = Path.Combine(AppContext.BaseDirectory, "examples", "pileup.json");
        var (code, stdout, stderr) = await Run("simulate", file, "--max-events", "3", "--json", "--quiet", "--out", Out("sm"));
        Assert.True(code == 0, stdout + stderr);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        JsonElement scenario = doc.RootElement.GetProperty("scenarios")[0];
        string reproduce = scenario.GetProperty("reproduce").GetString()!;
        Assert.Contains("--max-events 3", reproduce, StringComparison.Ordinal);

        string[] again = [.. reproduce.Split(' ').Skip(1), "--json", "--quiet", "--out", Out("sm2")];
        var (code2, stdout2, stderr2) = await Run(again);
        Assert.True(code2 == 0, stdout2 + stderr2);
        using JsonDocument doc2 = JsonDocument.Parse(stdout2);
        JsonElement rerun = doc2.RootElement.GetProperty("scenarios")[0];
        Assert.Equal(scenario.GetProperty("simulation").GetProperty("trace").GetRawText(), rerun.GetProperty("simulation").GetProperty("trace").GetRawText());
    }

    [Fact]
    public async Task Simulate_RuntimeOnlyOptions_AreNotReportedAsInForce()
    {
        // simulate starts no runtime: report.json said lockMemory "true" and cpuDmaLatency "0s" (a 0 µs request held) all the same.
        string file = Path.Combine(AppContext.BaseDirectory, "examples", "pileup.json");
        var (code, stdout, stderr) = await Run("simulate", file, "--lock-memory", "--cpu-dma-latency", "0us", "--quiet", "--out", Out("sl"));
        Assert.True(code == 0, stdout + stderr);
        using JsonDocument doc = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(Out("sl"), "report.json")));
        JsonElement parameters = doc.RootElement.GetProperty("scenarios")[0].GetProperty("parameters");
        Assert.False(parameters.TryGetProperty("lockMemory", out _), parameters.ToString());
        Assert.False(parameters.TryGetProperty("cpuDmaLatency", out _), parameters.ToString());
    }

    public static TheoryData<string, string, string> HostileScenarios() => new()
    {
        { "invalid-json", "{ \"cpus\": 2, \"tasks\": [ }", "line 1" },
        { "unknown-field", "{\n  \"cpus\": 2,\n  \"tasks\": [ { \"name\": \"a\", \"prio\": 3 } ]\n}", "line 3, $.tasks[0].prio" },
        { "negative-cpus", "{ \"cpus\": -4 }", "$.cpus" },
        { "absurd-cpus", "{ \"cpus\": 100000000 }", "$.cpus" },
        { "negative-priority", "{ \"tasks\": [ { \"name\": \"a\", \"priority\": -1 } ] }", "$.tasks[0].priority" },
        { "negative-duration", "{ \"tasks\": [ { \"name\": \"a\", \"priority\": 5, \"steps\": [ { \"run\": -5 } ] } ] }", "line 1, $.tasks[0].steps[0].run: must be" },
        { "absurd-duration", "{ \"tasks\": [ { \"name\": \"a\", \"priority\": 5, \"steps\": [ { \"sleep\": 1000000000000000 } ] } ] }", "$.tasks[0].steps[0].sleep: must be" },
        { "fractional-duration", "{ \"tasks\": [ { \"name\": \"a\", \"priority\": 5, \"steps\": [ { \"sleep\": 1e30 } ] } ] }", "$.tasks[0].steps[0].sleep: must be an integer" },
        { "absurd-repeat", "{ \"tasks\": [ { \"name\": \"a\", \"priority\": 5, \"steps\": [ { \"repeat\": 2000000000, \"steps\": [ { \"repeat\": 2000000000, \"steps\": [ \"yield\" ] } ] } ] } ] }", "$.tasks[0].steps[0].repeat: must be" },
        { "deep-repeat-nesting", "{ \"tasks\": [ { \"name\": \"a\", \"priority\": 5, \"steps\": " + string.Concat(Enumerable.Repeat("[ { \"repeat\": 2, \"steps\": ", 12)) + "[ \"yield\" ]" + string.Concat(Enumerable.Repeat(" } ]", 12)) + " } ] }", "nest deeper than 8 levels" },
        { "empty-affinity", "{ \"tasks\": [ { \"name\": \"a\", \"priority\": 5, \"affinity\": \"\" } ] }", "$.tasks[0].affinity: '' is empty" },
        { "repeat-without-steps", "{ \"tasks\": [ { \"name\": \"a\", \"priority\": 5, \"steps\": [ { \"repeat\": 3 } ] } ] }", "$.tasks[0].steps[0]: a repeat step needs \"steps\"" },
        { "unlock-never-locked", "{ \"tasks\": [ { \"name\": \"a\", \"priority\": 5, \"steps\": [ { \"unlock\": \"m\" } ] } ] }", "$.tasks[0].steps[0].unlock: task 'a' unlocks 'm', which none of its steps lock" },
        { "deep-nesting", new string('[', 100000) + new string(']', 100000), "line 1" },
        { "deep-object-nesting", "{ \"tasks\": " + string.Concat(Enumerable.Repeat("[", 5000)) + string.Concat(Enumerable.Repeat("]", 5000)) + " }", "line 1" },
    };

    [Theory]
    [MemberData(nameof(HostileScenarios))]
    public async Task Simulate_HostileFile_ExitsTwoNamingLineAndField(string name, string content, string expected)
    {
        Directory.CreateDirectory(Dir);
        string file = Path.Combine(Dir, name + ".json");
        await File.WriteAllTextAsync(file, content);
        var (code, stdout, stderr) = await Run("simulate", file, "--out", Out("bad-" + name));
        Assert.Equal(StressCli.ExitBadArguments, code);
        Assert.StartsWith("usage: rtstress simulate FILE", stderr, StringComparison.Ordinal);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
        Assert.Contains(file, stderr, StringComparison.Ordinal);
        Assert.Equal(string.Empty, stdout);
    }

    [Fact]
    public async Task Simulate_HugeFile_ExitsTwoBeforeReadingIt()
    {
        Directory.CreateDirectory(Dir);
        string file = Path.Combine(Dir, "huge.json");
        await using (var f = File.Create(file))
        {
            f.SetLength(64L << 20); // 64 MiB of zeros; the loader refuses it by size
        }

        var (code, _, stderr) = await Run("simulate", file, "--out", Out("bad-huge"));
        Assert.Equal(StressCli.ExitBadArguments, code);
        Assert.Contains("$: the file is 67108864 bytes", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Simulate_Folder_ExitsTwo_SayingItIsAFolder_AndWhatFileTakes()
    {
        // It said "cannot read the scenario file: Could not find file '…'" for a folder that exists.
        string folder = Path.Combine(Dir, "scenarios");
        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(Path.Combine(folder, "b.json"), "{}");
        await File.WriteAllTextAsync(Path.Combine(folder, "a.json"), "{}");

        var (code, stdout, stderr) = await Run("simulate", folder, "--out", Out("bad-folder"));

        Assert.Equal(StressCli.ExitBadArguments, code);
        Assert.StartsWith("usage: rtstress simulate FILE", stderr, StringComparison.Ordinal);
        Assert.Contains($"error: {folder}: is a folder, not a file: FILE must be one scenario file (JSON; format in docs/simulator.md), e.g. {Path.Combine(folder, "a.json")}.", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Could not find", stderr, StringComparison.Ordinal);
        Assert.Equal(string.Empty, stdout);
    }

    [Fact]
    public async Task Simulate_EmptyFileArgument_ExitsTwo_SayingWhatFileTakes()
    {
        var (code, _, stderr) = await Run("simulate", "", "--out", Out("bad-empty"));

        Assert.Equal(StressCli.ExitBadArguments, code);
        Assert.Contains("error: FILE '' is empty: FILE must be one scenario file", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Parameter", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Simulate_MissingFile_ExitsTwo()
    {
        var (code, _, stderr) = await Run("simulate", Path.Combine(Dir, "nope.json"), "--out", Out("bad-missing"));
        Assert.Equal(StressCli.ExitBadArguments, code);
        Assert.Contains("cannot read the scenario file", stderr, StringComparison.Ordinal);
    }
}
