using RtRuntime;
using RtRuntime.Cpus;
using RtRuntime.Simulation;
using RtRuntime.Tasks;
using static RtRuntime.Tests.Simulation.SimBuild;

namespace RtRuntime.Tests.Simulation;

/// <summary>Kernel-reference section 10 scenarios 4, 6-16, 19, 22-27, 38 with exact traces or figures (seed 0).</summary>
public class SimScenarioTests
{
    [Fact]
    public void Run_Scenario4_HigherTaskPreemptsMigrateDisabledTaskAtItsNextPreemptionPoint()
    {
        SimResult r = RunClean(SimScenarios.PreemptibleWhileMigrationDisabled());
        Assert.Equal(
        [
            "0 cpu0 L Spawn", "0 cpu0 L SwitchIn", "0 cpu0 L MigrateDisable",
            "35 cpu0 H Spawn", "40 cpu0 L Preempt", "40 cpu0 H SwitchIn",
            "60 cpu0 H Exit", "60 cpu0 L SwitchIn", "120 cpu0 L MigrateEnable", "170 cpu0 L Exit",
        ], Lines(r));
        Assert.Equal(0, r.Task("L").Migrations);
        Assert.Equal(20, r.Task("L").InterferenceUs);
    }

    [Fact]
    public void Run_Scenario6_PinIsLazyAndInvisibleInReportedAffinity()
    {
        var seen = new List<(long, string, string)>();
        var options = new SimOptions { AfterEvent = e => seen.Add((e.Now, e.EffectiveAffinity("T").ToString(), e.ReportedAffinity("T").ToString())) };
        SimResult r = RunClean(SimScenarios.LazyPin(BalancePolicy.WorkConserving), options);

        Assert.Contains((15L, "0-1", "0-1"), seen); // running inside migrate_disable: still the full mask
        Assert.Contains((20L, "0", "0-1"), seen);   // preempted: cpus_ptr = {0}, cpus_mask unchanged
        Assert.Contains((130L, "0-1", "0-1"), seen); // after migrate_enable
        Assert.Equal(
        [
            "0 cpu0 T Spawn", "0 cpu0 T SwitchIn", "0 cpu0 T MigrateDisable",
            "15 cpu0 H Spawn", "20 cpu0 T Preempt", "20 cpu0 H SwitchIn",
            "50 cpu0 H Exit", "50 cpu0 T SwitchIn", "130 cpu0 T MigrateEnable", "140 cpu0 T Exit",
        ], Lines(r));
        Assert.Equal(0, r.Task("T").Migrations);
        Assert.Equal(30, r.Cpus[1].LostUs); // CPU1 idled while T (allowed there by its mask) waited pinned
        Assert.Equal(30, r.Task("T").InterferenceUs);
    }

    [Fact]
    public void Run_Scenario7_BlockedPinnedTaskWakesOnItsCpuAndStaysCountedInNrPinned()
    {
        var pinned = new List<(long Now, int Cpu1, int Cpu0)>();
        var options = new SimOptions { AfterEvent = e => pinned.Add((e.Now, e.NrPinned(1), e.NrPinned(0))) };
        SimResult r = RunClean(SimScenarios.BlockingInsideRegion(), options);

        Assert.Equal(
        [
            "0 cpu1 T Spawn", "0 cpu1 T SwitchIn", "0 cpu1 T MigrateDisable", "0 cpu1 T Block",
            "40 cpu1 X Spawn", "40 cpu1 X SwitchIn",
            "50 cpu0 W Spawn", "50 cpu0 W SwitchIn", "50 cpu1 T Wakeup", "50 cpu0 W Exit",
            "80 cpu1 X Exit", "80 cpu1 T SwitchIn", "90 cpu1 T MigrateEnable", "90 cpu1 T Exit",
        ], Lines(r));
        // From its migrate_disable to its migrate_enable (asleep, then queued behind X) T counts on CPU1 only.
        Assert.All(pinned.Where(p => p.Now < 90), p => Assert.Equal((1, 0), (p.Cpu1, p.Cpu0)));
        Assert.Contains((90L, 0, 0), pinned);
        Assert.Equal(0, r.Task("T").Migrations);
    }

    [Fact]
    public void Run_Scenario8_TwoHighestRunAndCpuPullsWhenOneBlocks()
    {
        SimResult r = RunClean(SimScenarios.NHighest());
        Assert.Equal(
        [
            "0 cpu0 A Spawn", "0 cpu0 A SwitchIn", "0 cpu1 B Spawn", "0 cpu1 B SwitchIn", "0 cpu1 C Spawn",
            "100 cpu0 A Block", "100 cpu1->cpu0 C Pull", "100 cpu0 C SwitchIn",
            "500 cpu1 B Exit", "600 cpu0 C Exit", "1100 cpu0 A Wakeup", "1100 cpu0 A SwitchIn", "1110 cpu0 A Exit",
        ], Lines(r));
        Assert.Equal(0, r.LostUs);
    }

    [Fact]
    public void Run_Scenario9_PreemptedTaskIsPushedToCpuRunningLower()
    {
        SimResult r = RunClean(SimScenarios.WakeAndPush());
        Assert.Equal(
        [
            "0 cpu0 M Spawn", "0 cpu0 M SwitchIn", "0 cpu1 L Spawn", "0 cpu1 L SwitchIn",
            "25 cpu0 H Spawn", "30 cpu0 M Preempt", "30 cpu0 H SwitchIn", "30 cpu0->cpu1 M Push",
            "30 cpu1 L Preempt", "30 cpu1 M SwitchIn",
            "80 cpu0 H Exit", "80 cpu1->cpu0 L Pull", "80 cpu0 L SwitchIn", "100 cpu1 M Exit", "150 cpu0 L Exit",
        ], Lines(r));
    }

    [Fact]
    public void Run_Scenario10_WakingTaskIsPlacedOnCpuRunningLower()
    {
        SimResult r = RunClean(SimScenarios.WakePlacement());
        Assert.Equal(
        [
            "0 cpu0 H Spawn", "0 cpu0 H SwitchIn", "0 cpu1 L Spawn", "0 cpu1 L SwitchIn",
            "25 cpu1 M Spawn", "30 cpu1 L Preempt", "30 cpu1 M SwitchIn", "50 cpu1 M Exit", "50 cpu1 L SwitchIn",
            "100 cpu0 H Exit", "120 cpu1 L Exit",
        ], Lines(r));
        Assert.Equal(0, r.Task("M").Migrations);
    }

    [Fact]
    public void Run_Scenario11_EqualPriorityNeverPreempts()
    {
        SimResult r = RunClean(SimScenarios.EqualPriority());
        Assert.Equal(["0 cpu0 F1 Spawn", "0 cpu0 F1 SwitchIn", "25 cpu0 F2 Spawn", "100 cpu0 F1 Exit", "100 cpu0 F2 SwitchIn", "110 cpu0 F2 Exit"], Lines(r));
        Assert.Equal(0, r.Task("F1").Preemptions);
    }

    [Fact]
    public void Run_Scenario11_EqualPriorityWakerAffineHere_RunnerThatCanMoveIsPushedAndBothRun()
    {
        // check_preempt_equal_prio: F2 can run only here, F1 could run on the idle CPU1.
        SimResult r = RunClean(SimScenarios.EqualPriorityRunnerCanMove("0-1"));
        Assert.Equal(
        [
            "0 cpu0 F1 Spawn", "0 cpu0 F1 SwitchIn",
            "25 cpu0 F2 Spawn", "25 cpu0 F1 PushRequested",
            "30 cpu0->cpu1 F1 PushRunning", "30 cpu0 F2 SwitchIn", "30 cpu1 F1 SwitchIn",
            "40 cpu0 F2 Exit", "100 cpu1 F1 Exit",
        ], Lines(r));
        Assert.Equal(0, r.LostUs);
    }

    [Fact]
    public void Run_Scenario11_EqualPriorityRunnerAffineHereToo_NoPreemptionWhileTheOtherCpuIdles()
    {
        SimResult r = RunClean(SimScenarios.EqualPriorityRunnerCanMove("0"));
        Assert.Equal(["0 cpu0 F1 Spawn", "0 cpu0 F1 SwitchIn", "25 cpu0 F2 Spawn", "100 cpu0 F1 Exit", "100 cpu0 F2 SwitchIn", "110 cpu0 F2 Exit"], Lines(r));
        Assert.Equal(0, r.Task("F1").Preemptions);
    }

    [Fact]
    public void Run_Scenario12KernelFaithful_PullPushesTheRunnerAwayAndPinnedTaskResumes()
    {
        SimResult r = RunClean(SimScenarios.PullRepair(BalancePolicy.KernelFaithful));
        Assert.Equal(
        [
            "0 cpu0 L Spawn", "0 cpu0 L SwitchIn", "0 cpu0 L MigrateDisable", "0 cpu1 R Spawn", "0 cpu1 R SwitchIn",
            "25 cpu0 H Spawn", "30 cpu0 L Preempt", "30 cpu0 H SwitchIn",
            "100 cpu1 R Block", "100 cpu0 H PushRequested", "100 cpu0->cpu1 H PushRunning", "100 cpu0 L SwitchIn", "100 cpu1 H SwitchIn",
            "230 cpu1 H Exit", "270 cpu0 L MigrateEnable", "270 cpu0 L Exit",
            "10100 cpu1 R Wakeup", "10100 cpu1 R SwitchIn", "10100 cpu1 R Exit",
        ], Lines(r));
        Assert.Equal(1, r.RunningPushes);
        Assert.Equal(0, r.Task("L").Migrations);
        Assert.Equal(70, r.Task("L").InterferenceUs);
    }

    [Fact]
    public void Run_Scenario12NoPushRunning_PinnedTaskWaitsForTheRunnerToExit()
    {
        SimResult r = RunClean(SimScenarios.PullRepair(BalancePolicy.NoPushRunning));
        Assert.Equal(0, r.RunningPushes);
        Assert.Equal(200, r.Task("L").InterferenceUs);
        Assert.Equal(400, r.Task("L").ExitUs);
        Assert.Equal(135, r.Cpus[1].LostUs);
    }

    [Fact]
    public void Run_Scenario13KernelFaithful_IdleCpuDoesNotRepairPileUp()
    {
        SimResult r = RunClean(SimScenarios.IdleNoPull(BalancePolicy.KernelFaithful));
        Assert.Equal(
        [
            "0 cpu0 L Spawn", "0 cpu0 L SwitchIn", "0 cpu0 L MigrateDisable",
            "25 cpu0 H Spawn", "30 cpu0 L Preempt", "30 cpu0 H SwitchIn",
            "130 cpu0 H Exit", "130 cpu0 L SwitchIn", "300 cpu0 L MigrateEnable", "300 cpu0 L Exit",
        ], Lines(r));
        Assert.Equal(105, r.Cpus[1].LostUs); // 25..130: H, then L, waited while CPU1 idled
        Assert.Equal(100, r.Task("L").InterferenceUs);
    }

    [Fact]
    public void Run_Scenario13WorkConserving_HigherTaskIsPlacedOnTheIdleCpuSparingThePinnedOne()
    {
        // Placement spares the migrate-disabled runner: H goes straight to the idle CPU, no pile-up forms.
        SimResult r = RunClean(SimScenarios.IdleNoPull(BalancePolicy.WorkConserving));
        Assert.Equal(
        [
            "0 cpu0 L Spawn", "0 cpu0 L SwitchIn", "0 cpu0 L MigrateDisable",
            "25 cpu1 H Spawn", "25 cpu1 H SwitchIn",
            "125 cpu1 H Exit", "200 cpu0 L MigrateEnable", "200 cpu0 L Exit",
        ], Lines(r));
        Assert.Equal(0, r.LostUs);
        Assert.Equal(0, r.Pushes);
        Assert.Equal(0, r.Task("L").InterferenceUs);
    }

    [Fact]
    public void Run_Scenario14_PushDeferredByMigrateDisableRunsAtOutermostMigrateEnable()
    {
        SimResult r = RunClean(SimScenarios.DeferredPush());
        Assert.Equal(
        [
            "0 cpu0 L Spawn", "0 cpu0 L SwitchIn", "0 cpu0 L MigrateDisable", "0 cpu1 R Spawn", "0 cpu1 R SwitchIn",
            "25 cpu0 H Spawn", "30 cpu0 L Preempt", "30 cpu0 H SwitchIn",
            "100 cpu1 R Block", "100 cpu0 H PushRequested",
            "110 cpu0 H MigrateDisable", "110 cpu0 H PushDeferred",
            "130 cpu0 H MigrateEnable", "130 cpu0->cpu1 H PushRunning", "130 cpu0 L SwitchIn", "130 cpu1 H SwitchIn",
            "180 cpu1 H Exit", "300 cpu0 L MigrateEnable", "300 cpu0 L Exit",
            "10100 cpu1 R Wakeup", "10100 cpu1 R SwitchIn", "10100 cpu1 R Exit",
        ], Lines(r));
    }

    [Fact]
    public void Run_Scenario15_PinnedRunnerIsNeverPushed()
    {
        SimResult r = RunClean(SimScenarios.PullRepair(BalancePolicy.KernelFaithful, runnerPinned: true));
        Assert.DoesNotContain(r.Trace, e => e.Kind is SimEventKind.PushRequested or SimEventKind.PushRunning);
        Assert.Equal(240, r.Task("H").ExitUs);
        Assert.Contains("240 cpu0 L SwitchIn", Lines(r));
        Assert.Equal(0, r.Task("H").Migrations);
    }

    [Theory]
    [InlineData(BalancePolicy.KernelFaithful)]
    [InlineData(BalancePolicy.NoPushRunning)]
    public void Run_Scenario16WithoutRepair_PileUpLosesThreeCpus(BalancePolicy policy)
    {
        SimResult r = RunClean(SimScenarios.PileUp(policy));
        // Pile-up from 10 (T1 preempted pinned) until 320 (T1, the last waiter, runs); spawn waits 5..10 count too.
        Assert.Equal([315L, 315L, 315L], r.Cpus.Skip(1).Select(c => c.LostUs));
        Assert.Equal(0, r.Cpus[0].IdleUs);
        Assert.Equal([410L, 320L, 230L, 140L], r.Tasks.Select(t => t.ExitUs));
        Assert.Equal([310L, 210L, 110L, 0L], r.Tasks.Select(t => t.InterferenceUs));
        Assert.True(r.Cpus.Skip(1).All(c => c.Switches == 0));
    }

    [Fact]
    public void Run_Scenario16WorkConserving_NoPileUpForms()
    {
        SimResult r = RunClean(SimScenarios.PileUp(BalancePolicy.WorkConserving));
        Assert.Equal(
        [
            "0 cpu0 T1 Spawn", "0 cpu0 T1 SwitchIn", "0 cpu0 T1 MigrateDisable",
            "5 cpu1 T2 Spawn", "5 cpu1 T2 SwitchIn", "5 cpu1 T2 MigrateDisable",
            "15 cpu2 T3 Spawn", "15 cpu2 T3 SwitchIn", "15 cpu2 T3 MigrateDisable",
            "25 cpu3 T4 Spawn", "25 cpu3 T4 SwitchIn", "25 cpu3 T4 MigrateDisable",
            "100 cpu0 T1 MigrateEnable", "100 cpu0 T1 Exit", "105 cpu1 T2 MigrateEnable", "105 cpu1 T2 Exit",
            "115 cpu2 T3 MigrateEnable", "115 cpu2 T3 Exit", "125 cpu3 T4 MigrateEnable", "135 cpu3 T4 Exit",
        ], Lines(r));
        Assert.Equal(0, r.LostUs); // each waker is placed on an idle CPU: no pinned task is ever preempted
        Assert.Equal(0, r.Pushes);
        Assert.True(r.Tasks.All(t => t.InterferenceUs == 0));
    }

    [Fact]
    public void Run_Scenario19_WakeupAvoidsInactiveCpu()
    {
        SimResult r = RunClean(SimScenarios.InactiveCpu());
        Assert.Equal(["0 cpu0 V Spawn", "0 cpu0 V SwitchIn", "10 cpu0 V Exit"], Lines(r));
        Assert.Equal(0, r.Cpus[1].BusyUs);
    }

    [Fact]
    public void Run_Scenario22_AffinityChangeWaitsForOutermostMigrateEnable()
    {
        var seen = new List<(long, string, string)>();
        var options = new SimOptions { AfterEvent = e => seen.Add((e.Now, e.ReportedAffinity("T").ToString(), e.EffectiveAffinity("T").ToString())) };
        SimResult r = RunClean(SimScenarios.DeferredAffinity(), options);
        Assert.Equal(
        [
            "0 cpu0 T Spawn", "0 cpu0 T SwitchIn", "0 cpu0 T MigrateDisable",
            "5 cpu0 H Spawn", "10 cpu0 T Preempt", "10 cpu0 H SwitchIn",
            "20 cpu1 P1 Spawn", "20 cpu1 P1 SwitchIn", "20 cpu1 P1 AffinitySet T", "20 cpu1 P1 Block",
            "40 cpu0 H Exit", "40 cpu0 T SwitchIn",
            "130 cpu0 T MigrateEnable", "130 cpu0->cpu1 T Migrate", "130 cpu1 P1 AffinityDone T", "130 cpu1 P1 Wakeup",
            "130 cpu1 T SwitchIn", "150 cpu1 T Exit", "150 cpu1 P1 SwitchIn", "155 cpu1 P1 Exit",
        ], Lines(r));
        Assert.Contains((20L, "1", "0"), seen); // reported at once; still pinned to CPU0
        Assert.Equal(1, r.Task("T").Migrations);
    }

    [Fact]
    public void Run_Scenario23_LastRequestWinsAndAllWaitersReturn()
    {
        SimResult r = RunClean(SimScenarios.TwoRequests("2"));
        string[] lines = Lines(r);
        Assert.Contains("100 cpu0->cpu2 T Migrate", lines);
        Assert.Contains("100 cpu1 P1 AffinityDone T", lines);
        Assert.Contains("100 cpu2 P2 AffinityDone T", lines);
        Assert.Equal(2, r.Task("T").Affinity.First);
    }

    [Fact]
    public void Run_Scenario24_SupersedingRequestIncludingCurrentCpuCompletesAllAtOnce()
    {
        SimResult r = RunClean(SimScenarios.TwoRequests("0-1"));
        string[] lines = Lines(r);
        Assert.Contains("20 cpu1 P1 AffinityDone T", lines);
        Assert.Contains("20 cpu2 P2 AffinityDone T", lines);
        Assert.Equal(0, r.Task("T").Migrations);
        Assert.Equal(CpuSet.Of(0, 1), r.Task("T").Affinity);
    }

    [Fact]
    public void Run_Scenario25_RequestIncludingCurrentCpuReturnsAtOnce()
    {
        SimResult r = RunClean(SimScenarios.RequestIncludesCurrent());
        Assert.Contains("10 cpu1 P AffinityDone T", Lines(r));
        Assert.Equal(0, r.Task("T").Migrations);
        Assert.Equal(CpuSet.Of(0, 2), r.Task("T").Affinity);
    }

    [Fact]
    public void Run_Scenario26_SelfAffinityExcludingCpuInsideMigrateDisableFailsWithEbusy()
    {
        SimResult r = RunClean(SimScenarios.SelfAffinity());
        Assert.Equal(
        [
            "0 cpu0 T Spawn", "0 cpu0 T SwitchIn", "0 cpu0 T MigrateDisable",
            "10 cpu0 T AffinitySet T", "10 cpu0 T Bug", "10 cpu0 T AffinityFailed T",
            "20 cpu0 T AffinitySet T", "20 cpu0 T AffinityDone T", "20 cpu0 T MigrateEnable", "30 cpu0 T Exit",
        ], Lines(r));
        Assert.Single(r.Bugs);
        Assert.Contains("EBUSY", r.Bugs[0], StringComparison.Ordinal);
        Assert.Equal(CpuSet.Of(0, 1), r.Task("T").Affinity);
    }

    [Fact]
    public void Run_Scenario27_NoOpAffinityReturnsAtOnceWithoutMigration()
    {
        SimResult r = RunClean(SimScenarios.NoOpAffinity());
        Assert.Equal(["0 cpu0 T Spawn", "0 cpu0 T SwitchIn", "10 cpu0 T AffinitySet T", "10 cpu0 T AffinityDone T", "20 cpu0 T Exit"], Lines(r));
        Assert.Equal(0, r.Task("T").Migrations);
    }

    [Fact]
    public void Run_Scenario38_RoundRobinPeersAlternateEverySliceAndALoneRoundRobinTaskIsNotRequeued()
    {
        SimResult r = RunClean(SimScenarios.Slices(SchedPolicy.RoundRobin));
        Assert.Equal(
        [
            "0 cpu0 A Spawn", "0 cpu0 A SwitchIn", "0 cpu0 B Spawn", "0 cpu0 C Spawn",
            "30 cpu0 A Preempt", "30 cpu0 B SwitchIn", "60 cpu0 B Preempt", "60 cpu0 A SwitchIn",
            "90 cpu0 A Preempt", "90 cpu0 B SwitchIn", "120 cpu0 B Preempt", "120 cpu0 A SwitchIn",
            "130 cpu0 A Exit", "130 cpu0 B SwitchIn", "140 cpu0 B Exit",
            "140 cpu0 C SwitchIn", "210 cpu0 C Exit", // C alone at its priority: 70 µs, two slices, never requeued
        ], Lines(r));
        Assert.Equal([2, 2, 0], r.Tasks.Select(t => t.Preemptions));
    }

    [Fact]
    public void Run_Scenario38_FifoPeersAreNeverTimeSliced()
    {
        SimResult r = RunClean(SimScenarios.Slices(SchedPolicy.Fifo));
        Assert.Equal(
        [
            "0 cpu0 A Spawn", "0 cpu0 A SwitchIn", "0 cpu0 B Spawn", "0 cpu0 C Spawn",
            "70 cpu0 A Exit", "70 cpu0 B SwitchIn", "140 cpu0 B Exit", "140 cpu0 C SwitchIn", "210 cpu0 C Exit",
        ], Lines(r));
        Assert.True(r.Tasks.All(t => t.Preemptions == 0));
    }

    [Fact]
    public void Run_Scenario38_YieldMovesAFifoTaskToTheTailOfItsPriorityOnly()
    {
        // A yields at 10 behind B (its priority), and at 30 with only the lower C queued: it runs on.
        SimResult r = RunClean(Scenario(1, BalancePolicy.WorkConserving,
            Task("A", 20, cpu: 0, steps: [Run(10), SimStep.Yield(), Run(10), SimStep.Yield(), Run(10)]),
            Task("B", 20, cpu: 0, steps: [Run(10)]),
            Task("C", 10, cpu: 0, steps: [Run(10)])));
        Assert.Equal(
        [
            "0 cpu0 A Spawn", "0 cpu0 A SwitchIn", "0 cpu0 B Spawn", "0 cpu0 C Spawn",
            "10 cpu0 A Yield", "10 cpu0 B SwitchIn", "20 cpu0 B Exit", "20 cpu0 A SwitchIn",
            "30 cpu0 A Yield", "30 cpu0 A SwitchIn", "40 cpu0 A Exit", "40 cpu0 C SwitchIn", "50 cpu0 C Exit",
        ], Lines(r));
        Assert.Equal(0, r.Task("C").Preemptions);
    }

    [Fact]
    public void Run_SameSeedTwice_GivesIdenticalTraces()
    {
        SimScenario s = SimScenarios.PileUp(BalancePolicy.KernelFaithful);
        Assert.Equal(Simulator.Run(s, 42).TraceLines(), Simulator.Run(s, 42).TraceLines());
    }

    [Fact]
    public void Run_EventLimitBeforeEndUs_StopsTheClockAtTheLastEvent()
    {
        // A 100 µs task cut off by MaxEvents after its spawn: the run must not be charged up to endUs
        // (1000 µs of run time for a 100 µs script, and a "stopped at endUs" in rtstress's notes).
        SimScenario s = new() { Cpus = 1, TickUs = 0, EndUs = 1000, Tasks = [Task("A", 10, steps: [Run(100)])] };
        SimResult r = Simulator.Run(s, 0, new SimOptions { MaxEvents = 1 });
        Assert.False(r.Completed);
        Assert.Equal(0, r.EndUs);
        Assert.Equal(0, r.Task("A").RunUs);
        Assert.Equal(0, r.Cpus[0].BusyUs);
    }

    [Fact]
    public void Run_CancelledMidway_StopsBeforeTheNextEventWithWhatRan()
    {
        // rtstress simulate under Ctrl+C: before, the token reached only Task.Run, and the simulation ran
        // on to its end or its event limit (seconds for a large scenario).
        SimScenario s = new() { Cpus = 1, TickUs = 0, Tasks = [Task("A", 10, steps: [Run(100), Sleep(10), Run(100), Sleep(10), Run(100)])] };
        using var cts = new CancellationTokenSource();
        int events = 0;
        SimResult r = Simulator.Run(s, 0, new SimOptions
        {
            CancellationToken = cts.Token,
            AfterEvent = _ =>
            {
                if (++events == 2)
                {
                    cts.Cancel();
                }
            },
        });
        Assert.False(r.Completed);
        Assert.Equal(2, r.Events);
        SimResult whole = Simulator.Run(s, 0);
        Assert.True(whole.Completed);
        Assert.True(whole.Events > 2);
    }
}
