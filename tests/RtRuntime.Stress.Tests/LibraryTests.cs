namespace RtRuntime.Stress.Tests;

/// <summary>The scenarios through the library API, at a tiny size. Asserts invariants and shape, never timings.</summary>
public class LibraryTests
{
    private static StressSettings Tiny(int seed = 1, double seconds = 1) =>
        new() { CpuCount = 2, Duration = TimeSpan.FromSeconds(seconds), Seed = seed };

    [Fact]
    public async Task Cyclic_Idle_RecordsOneHistogramPerCpuAndPasses()
    {
        ScenarioResult r = await new CyclicScenario().RunAsync(Tiny());
        Assert.True(r.Passed, string.Join("\n", r.Violations));
        Assert.Equal(["cpu0", "cpu1"], r.Histograms.Select(h => h.Label));
        Assert.All(r.Histograms, h => Assert.True(h.Count > 0));
        Assert.NotNull(r.Figure("p99_us"));
        Assert.True(r.Checks > 0);
    }

    [Fact]
    public async Task Cyclic_ThatMeasuredNothing_ReportsNoLatencyInsteadOfAPerfectOne()
    {
        // A run shorter than one interval records no wakeup: its percentiles are not 0 µs but absent
        // ("n/a" in the table, null in report.json).
        StressSettings brief = new() { CpuCount = 1, Duration = TimeSpan.FromMilliseconds(100), Seed = 1 };
        ScenarioResult r = await new CyclicScenario { Interval = TimeSpan.FromMilliseconds(500) }.RunAsync(brief);
        Assert.All(r.Histograms, h => Assert.Equal(0, h.Count));
        Assert.True(double.IsNaN(r.Figure("p99_us")!.Value));
        Assert.Equal("n/a", ScenarioResult.Format(r.Figure("max_us")!.Value));

        var report = new StressReport(brief, [r], "rtstress cyclic", DateTimeOffset.UtcNow, TimeSpan.FromSeconds(1));
        using var json = System.Text.Json.JsonDocument.Parse(report.ToJson());
        System.Text.Json.JsonElement scenario = json.RootElement.GetProperty("scenarios")[0];
        System.Text.Json.JsonElement p99 = scenario.GetProperty("figures").EnumerateArray().Single(f => f.GetProperty("key").GetString() == "p99_us");
        Assert.Equal(System.Text.Json.JsonValueKind.Null, p99.GetProperty("value").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, scenario.GetProperty("histograms")[0].GetProperty("p99Us").ValueKind);
    }

    [Fact]
    public async Task Cyclic_LockMemory_RunsLockedAndSaysSoInTheReport()
    {
        StressSettings locked = new() { CpuCount = 2, Duration = TimeSpan.FromSeconds(0.5), Seed = 1, LockMemory = true };
        ScenarioResult r = await new CyclicScenario().RunAsync(locked);
        Assert.True(r.Passed, string.Join("\n", r.Violations));
        Assert.Equal("true", r.Parameters["lockMemory"]);
        Assert.EndsWith("--lock-memory", r.Reproduce, StringComparison.Ordinal);
        Assert.EndsWith("--pin", new CyclicScenario().ReproduceCommand(Tiny()), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cyclic_CpuDmaLatency_HoldsTheRequestAndReproducesWithIt()
    {
        StressSettings held = new() { CpuCount = 2, Duration = TimeSpan.FromSeconds(0.5), Seed = 1, CpuDmaLatency = TimeSpan.Zero };
        ScenarioResult r;
        try
        {
            r = await new CyclicScenario().RunAsync(held);
        }
        catch (InvalidOperationException e) when (e.Message.Contains("/dev/cpu_dma_latency", StringComparison.Ordinal))
        {
            return; // not root here: the runtime refuses to start, naming the device (tested in the runtime's tests)
        }

        Assert.True(r.Passed, string.Join("\n", r.Violations));
        Assert.Equal("0s", r.Parameters["cpuDmaLatency"]);
        Assert.EndsWith("--cpu-dma-latency 0s", r.Reproduce, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cyclic_MigrateDisabledLoad_HogsProgressAndPinnedSectionsHold()
    {
        ScenarioResult r = await new CyclicScenario("cyclic-load-md") { Load = true, LoadMigrateDisabled = true, Interval = TimeSpan.FromMicroseconds(500) }.RunAsync(Tiny());
        Assert.True(r.Passed, string.Join("\n", r.Violations));
        Assert.True(r.Figure("hog_points") > 0);
        Assert.Contains("--load-migrate-disabled", r.Reproduce, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pileup_ThreePolicies_ReportsLostBandwidthPerPolicyAndTimeline()
    {
        // The timeline covers every round: under CI load the first rounds of the first policy can be
        // lost to JIT and scheduling delays (a late round is skipped), which would leave it empty.
        ScenarioResult r = await new PileupScenario { TimelineRounds = 100 }.RunAsync(Tiny(seconds: 0.6));
        Assert.True(r.Passed, string.Join("\n", r.Violations));
        BarSeries bars = Assert.Single(r.Bars);
        Assert.Equal(["WorkConserving", "KernelFaithful", "NoPushRunning"], bars.Labels);
        Assert.All(bars.Values, v => Assert.InRange(v, 0, 100));
        foreach (string p in bars.Labels)
        {
            Assert.NotNull(r.Figure("lost_pct." + p));
            Assert.NotNull(r.Figure("top_migrations." + p));
            Assert.Contains(r.Timeline, s => s.Group == p);
        }

        Assert.All(r.Timeline, s => Assert.True(s.EndMs >= s.StartMs));
    }

    [Fact]
    public async Task Pileup_FirstRoundsLate_TheTimelineShowsTheFirstRoundsThatRan()
    {
        // The first round begins 200 ms before the runtime starts: rounds 0..3 are over before any task runs,
        // as a cold, loaded run's first rounds are late, and every task skips them. The timeline (3 rounds, the
        // default) used to show rounds 0..2 whatever ran: nothing, so no policy had a timeline plot.
        const double periodMs = 50;
        ScenarioResult r = await new PileupScenario { FirstRoundLead = TimeSpan.FromMilliseconds(-200) }.RunAsync(Tiny(seconds: 0.6));
        Assert.True(r.Passed, string.Join("\n", r.Violations));
        foreach (string p in new[] { "WorkConserving", "KernelFaithful", "NoPushRunning" })
        {
            TimelineSegment[] shown = r.Timeline.Where(s => s.Group == p).ToArray();
            Assert.Contains(shown, s => s.Task == "T1");
            Assert.Contains(shown, s => s.Task == "T2");
            double from = shown.Min(s => s.StartMs);
            Assert.True(from >= 4 * periodMs, $"{p}: a segment at {from} ms, in a round no task ran");
            Assert.True(shown.Max(s => s.StartMs) < from + (4 * periodMs), $"{p}: more than the 3 rounds from the first that ran");
        }
    }

    [Fact]
    public void Pileup_TimelineWindow_StartsAtTheFirstCountedRound()
    {
        Assert.Equal((100.0, 250.0), PileupScenario.TimelineWindow([0, 0, 2, 2, 1], 50_000_000, 3));
        Assert.Equal((0.0, 150.0), PileupScenario.TimelineWindow([0, 0, 0], 50_000_000, 3)); // none counted: from round 0
    }

    [Fact]
    public async Task Pileup_NoPushRunning_NeverMovesTheRunningTask()
    {
        ScenarioResult r = await new PileupScenario { Policies = [BalancePolicy.NoPushRunning] }.RunAsync(Tiny(seconds: 0.5));
        Assert.True(r.Passed, string.Join("\n", r.Violations));
        Assert.Equal(0, r.Figure("running_pushes.NoPushRunning"));
    }

    [Fact]
    public async Task Mixed_Soak_EveryTaskAccountedAndInvariantsHold()
    {
        ScenarioResult r = await new MixedScenario().RunAsync(Tiny(seed: 11));
        Assert.True(r.Passed, string.Join("\n", r.Violations));
        Assert.True(r.Figure("tasks") > 0);
        Assert.True(r.Figure("migrate_sections") > 0);
        Assert.True(r.Figure("lock_sections") > 0);
        Assert.True(r.Figure("priority_changes") > 0);
    }

    [Fact]
    public async Task Mixed_NonRtModel_MigrateSectionsWithoutSleepsHold()
    {
        ScenarioResult r = await new MixedScenario().RunAsync(Tiny(seed: 3) with { Model = PreemptionModel.NonRt });
        Assert.True(r.Passed, string.Join("\n", r.Violations));
    }

    [Fact]
    public async Task Mixed_UserWorkload_GetsItsOwnHistogramUnderLoad()
    {
        int runs = 0;
        var scenario = new MixedScenario();
        scenario.Workloads.Add(new StressWorkload("mine", 80, TimeSpan.FromMilliseconds(2), async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                await ctx.PreemptionPoint();
            }

            runs++;
        }));
        ScenarioResult r = await scenario.RunAsync(Tiny(seed: 5));
        Assert.True(r.Passed, string.Join("\n", r.Violations));
        LatencyHistogram h = Assert.Single(r.Histograms, h => h.Label == "workload:mine");
        Assert.Equal(runs, h.Count);
        Assert.True(runs > 0);
    }

    [Fact]
    public async Task Mixed_InjectedBug_IsReportedAsNoBugReportsViolationWithSeed()
    {
        ScenarioResult r = await new MixedScenario { Inject = MixedInjection.Bug }.RunAsync(Tiny(seed: 77));
        InvariantViolation v = Assert.Single(r.Violations, v => v.Invariant == Invariants.NoBugReports);
        Assert.Equal(77, v.Seed);
        Assert.Contains("--seed 77", v.Reproduce, StringComparison.Ordinal);
        Assert.Contains("--inject bug", v.Reproduce, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mixed_InjectedPinnedMove_IsCaughtByTheChecker()
    {
        ScenarioResult r = await new MixedScenario { Inject = MixedInjection.Pinned }.RunAsync(Tiny(seed: 78));
        Assert.Contains(r.Violations, v => v.Invariant == Invariants.MigrateDisabledStays && v.Seed == 78);
    }

    [Fact]
    public async Task InvariantChecker_UnexpectedFault_IsAViolation()
    {
        await using RtScheduler rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 2 });
        var checker = new InvariantChecker("custom", 9);
        checker.Attach(rt);
        checker.Track(rt.Spawn("ok", 10, _ => ValueTask.CompletedTask));
        checker.Track(rt.Spawn("boom", 10, _ => throw new InvalidOperationException("boom")));
        checker.Track(rt.Spawn("injected", 10, _ => throw new InjectedFaultException()), faultAllowed: true);
        ShutdownSummary summary = await checker.StopAndCheckAsync(rt, TimeSpan.FromSeconds(30));
        Assert.True(summary.AllAccountedFor);
        InvariantViolation v = Assert.Single(checker.Violations);
        Assert.Equal(Invariants.ExpectedOutcome, v.Invariant);
        Assert.Contains("boom", v.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("pileup")]
    [InlineData("hotplug")]
    public async Task TwoCpuScenarios_OneCpu_ThrowNamingTheCount(string kind)
    {
        StressScenario scenario = kind == "pileup" ? new PileupScenario() : new HotplugScenario();
        var e = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => scenario.RunAsync(Tiny() with { CpuCount = 1 }));
        Assert.Equal(1, e.ActualValue);
        Assert.Contains("at least 2 CPUs", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Settings_OutOfRange_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new StressSettings { CpuCount = 1025 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new StressSettings { Duration = TimeSpan.FromSeconds(-1) }.Validate());
        var dma = Assert.Throws<ArgumentOutOfRangeException>(() => new StressSettings { CpuDmaLatency = TimeSpan.FromTicks(15) }.Validate());
        Assert.Equal("CpuDmaLatency", dma.ParamName);
        Assert.Contains("whole microseconds", dma.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cyclic_IntervalTooShort_Throws()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => new CyclicScenario { Interval = TimeSpan.FromMicroseconds(50) }.RunAsync(Tiny()));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1_000)]
    [InlineData(2_000_000)]
    public async Task Cyclic_LoadSectionOutOfRange_ThrowsNamingIt(long us)
    {
        // It was not checked: zero or negative ran as a single point, and a section longer than the run kept the
        // hogs migrate-disabled past its end (an hour's section ran until the watchdog fired).
        TimeSpan section = TimeSpan.FromMicroseconds(us);
        var e = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => new CyclicScenario { LoadMigrateDisabled = true, LoadSection = section }.RunAsync(Tiny()).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(nameof(CyclicScenario.LoadSection), e.ParamName);
        Assert.Equal(section, e.ActualValue);
        Assert.Contains("1 µs..1 s", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1.5, 0.03, "FaultRate", 1.5)]
    [InlineData(0.02, 2.0, "CancelRate", 2.0)]
    [InlineData(0.02, -0.1, "CancelRate", -0.1)]
    public async Task Hotplug_RateOutOfRange_ThrowsNamingThatRateAndItsValue(double faultRate, double cancelRate, string name, double value)
    {
        // A bad CancelRate was rejected as "FaultRate", with no value: the message pointed at the wrong property.
        var e = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => new HotplugScenario { FaultRate = faultRate, CancelRate = cancelRate }.RunAsync(Tiny()));
        Assert.Equal(name, e.ParamName);
        Assert.Equal(value, e.ActualValue);
        Assert.Contains(name + " must be 0..1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LatencyHistogram_Figures_FollowTheSamples()
    {
        var h = new LatencyHistogram("x");
        for (int i = 1; i <= 1000; i++)
        {
            h.Record(i * 1000L);
        }

        h.Record(-5);
        Assert.Equal(1001, h.Count);
        Assert.Equal(1, h.Early);
        Assert.Equal(0, h.MinUs);
        Assert.InRange(h.P50Us, 495, 505);
        Assert.InRange(h.MaxUs, 999, 1001);
        Assert.Equal(1001, h.Buckets().Sum(b => b.Count));
    }

    [Fact]
    public void Pileup_PolicyWhoseRoundsWereAllSkipped_ReportsNoLossInsteadOfAPerfectOne()
    {
        // Every round skipped for lateness (a run of one or two rounds can be): no demand was counted, so the
        // policy's loss was not measured. It is "n/a" (null in report.json), not 0 %, which reads as a perfect repair.
        StairStats[] idle = [new("T1"), new("T2")];
        PileupScenario.PolicyOutcome o = PileupScenario.Measure(idle, counted: [0], disturbedNs: [0], periodNs: 50_000_000, runningPushes: 0, runtimeLostMs: 0, new LatencyHistogram("top"));
        Assert.True(double.IsNaN(o.LostPct), $"lost_pct {o.LostPct}");
        Assert.True(double.IsNaN(o.RawLostPct), $"lost_pct_raw {o.RawLostPct}");
        Assert.True(double.IsNaN(o.LostCpuMsPerS), $"lost_cpu_ms_per_s {o.LostCpuMsPerS}");
        Assert.True(double.IsNaN(o.VictimLostPct), $"victim_lost_pct {o.VictimLostPct}");
        Assert.True(double.IsNaN(o.TopStallUsPerRound), $"top_stall_us_per_round {o.TopStallUsPerRound}");

        // A counted round is measured: half of a 10 ms demand done is 50 % lost.
        StairStats[] ran = [new("T1") { DemandNs = 10_000_000, DoneNs = 5_000_000, Rounds = 1 }, new("T2") { DemandNs = 10_000_000, DoneNs = 5_000_000, Rounds = 1 }];
        PileupScenario.PolicyOutcome m = PileupScenario.Measure(ran, counted: [2], disturbedNs: [0], periodNs: 50_000_000, runningPushes: 0, runtimeLostMs: 0, new LatencyHistogram("top"));
        Assert.Equal(50, m.LostPct, 6);
        Assert.Equal(50, m.VictimLostPct, 6);
        Assert.Equal(5000, m.TopStallUsPerRound, 6);
    }

    [Fact]
    public void ReproduceCommand_CarriesEveryScenarioOptionThatChangesTheRun()
    {
        // A failure's reproduce command must rerun the same scenario: an option left out reruns it with its default.
        StressSettings settings = Tiny(seed: 7);
        string cyclic = new CyclicScenario { Priority = 50, Load = true, LoadTasks = 3 }.ReproduceCommand(settings);
        Assert.Contains("--priority 50", cyclic, StringComparison.Ordinal);
        Assert.Contains("--load-tasks 3", cyclic, StringComparison.Ordinal);
        Assert.Contains("--max-live 5", new MixedScenario { MaxLive = 5 }.ReproduceCommand(settings), StringComparison.Ordinal);

        // LoadMigrateDisabled alone runs hogs too: their point interval was left out, and the command reran them at the default 50us.
        string md = new CyclicScenario { LoadMigrateDisabled = true, LoadPointInterval = TimeSpan.FromMicroseconds(20) }.ReproduceCommand(settings);
        Assert.Contains("--load-point 20us", md, StringComparison.Ordinal);

        // Defaults stay out of the command (0 means "one hog per CPU", "8 per CPU").
        Assert.DoesNotContain("--load-tasks", new CyclicScenario { Load = true }.ReproduceCommand(settings), StringComparison.Ordinal);
        Assert.DoesNotContain("--max-live", new MixedScenario().ReproduceCommand(settings), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(15_000_000, "1500ms")]
    [InlineData(20_000_000, "2s")]
    [InlineData(1_505, "150500ns")]      // --interval 150.5us was reproduced as "150us"
    [InlineData(1_000_005, "100000500ns")] // --duration 100.0005ms was reproduced as "100000us"
    [InlineData(1_500, "150us")]
    [InlineData(1, "100ns")]
    public void FormatDuration_RoundTripsThroughTheCliParser(long ticks, string text)
    {
        Assert.Equal(text, StressScenario.FormatDuration(TimeSpan.FromTicks(ticks)));
        Assert.True(Cli.DurationParser.TryParse(text, out TimeSpan back));
        Assert.Equal(TimeSpan.FromTicks(ticks), back);
    }

    [Fact]
    public void ReproduceCommand_SubMicrosecondInterval_ReproducesTheSameInterval()
    {
        var settings = new StressSettings { CpuCount = 1, Duration = TimeSpan.FromMilliseconds(100), Seed = 1 };
        string command = new CyclicScenario { Interval = TimeSpan.FromTicks(1_505) }.ReproduceCommand(settings);

        Assert.Contains("--interval 150500ns", command, StringComparison.Ordinal);
    }

    [Fact]
    public void DefaultReportFolder_TakenByARunInTheSameSecond_GetsTheNextFreeSuffix()
    {
        // Two runs started in the same second shared the default folder and overwrote each other's report.
        string root = Path.Combine(Path.GetTempPath(), "rtstress-folders-" + Guid.NewGuid().ToString("N"));
        var now = new DateTime(2026, 11, 27, 17, 5, 0);
        try
        {
            string first = Cli.SuiteRunner.DefaultFolder(root, now);
            Assert.Equal(Path.Combine(root, "20261127-170500"), first);
            Directory.CreateDirectory(first);
            string second = Cli.SuiteRunner.DefaultFolder(root, now);
            Assert.Equal(first + "-2", second);
            Directory.CreateDirectory(second);
            Assert.Equal(first + "-3", Cli.SuiteRunner.DefaultFolder(root, now));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
