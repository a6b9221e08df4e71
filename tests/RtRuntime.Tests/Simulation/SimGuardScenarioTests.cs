using RtRuntime;
using RtRuntime.Simulation;
using RtRuntime.Tasks;
using static RtRuntime.Tests.Simulation.SimBuild;

namespace RtRuntime.Tests.Simulation;

/// <summary>
/// Kernel-reference section 10 scenarios 1, 2, 3, 5, 29, 30 and 39 in the simulator, with exact traces
/// (seed 0): the guards' counters, their underflow and overflow, the NonRt mapping and class preemption.
/// </summary>
public class SimGuardScenarioTests
{
    [Fact]
    public void Run_Scenario1_NestedMigrateDisablePinsOnceAndOnlyTheOutermostEnableUnpins()
    {
        // T disables three times and enables three times, 10 µs apart; H (50) wakes at 15 and runs at T's
        // point at 20, inside the nest of two: migrate_disable left the preempt depth at 0.
        var pinned = new List<(long Now, int NrPinned)>();
        var options = new SimOptions { AfterEvent = e => pinned.Add((e.Now, e.NrPinned(0))) };
        SimResult r = RunClean(
            Scenario(1, BalancePolicy.WorkConserving,
                Task("T", 10, cpu: 0, steps: [MD, Run(10), MD, Run(10), MD, Run(10), ME, Run(10), ME, Run(10), ME, Run(10)]),
                Task("H", 50, cpu: 0, spawn: 15, steps: [Run(5)])),
            options);

        Assert.Equal(
        [
            "0 cpu0 T Spawn", "0 cpu0 T SwitchIn", "0 cpu0 T MigrateDisable",
            "15 cpu0 H Spawn", "20 cpu0 T Preempt", "20 cpu0 H SwitchIn", "25 cpu0 H Exit", "25 cpu0 T SwitchIn",
            "55 cpu0 T MigrateEnable", "65 cpu0 T Exit",
        ], Lines(r));
        Assert.Equal([(0L, 1), (10L, 1), (15L, 1), (20L, 1), (25L, 1), (35L, 1), (45L, 1), (55L, 0), (65L, 0)], pinned);
        Assert.Equal(0, r.Task("T").Migrations);
    }

    [Fact]
    public void Run_Scenario2_MigrateEnableAtDepthZeroIsReportedAndChangesNothing()
    {
        // The extra enable is refused (v5.17+): nr_pinned stays 0, nothing is unpinned, no switch happens.
        var pinned = new List<int>();
        var options = new SimOptions { AfterEvent = e => pinned.Add(e.NrPinned(0)) };
        SimResult r = RunClean(Scenario(1, BalancePolicy.WorkConserving, Task("T", 10, cpu: 0, steps: [Run(10), ME, Run(10)])), options);

        Assert.Equal(["0 cpu0 T Spawn", "0 cpu0 T SwitchIn", "10 cpu0 T Bug", "20 cpu0 T Exit"], Lines(r));
        Assert.Equal("10us T: migrate_enable underflow: not migrate-disabled; ignored", Assert.Single(r.Bugs));
        Assert.All(pinned, p => Assert.Equal(0, p));
    }

    [Fact]
    public void Run_Scenario3_MigrateDisableBeyondTheLimitIsReportedAndIgnored()
    {
        // One disable more than MigrateGuard.MaxDepth: before, the simulator nested on without a word
        // (the threaded runtime throws there, the kernel's DEBUG_PREEMPT warns), and the task, whose
        // MaxDepth enables then left it pinned, ended "exited with ... migrate-disable depth 1".
        var pinned = new List<int>();
        var options = new SimOptions { AfterEvent = e => pinned.Add(e.NrPinned(0)) };
        SimResult r = RunClean(
            Scenario(1, BalancePolicy.WorkConserving,
                Task("T", 10, cpu: 0, steps: [SimStep.Repeat(MigrateGuard.MaxDepth + 1, MD), Run(10), SimStep.Repeat(MigrateGuard.MaxDepth, ME), Run(10)])),
            options);

        Assert.Equal(
            ["0 cpu0 T Spawn", "0 cpu0 T SwitchIn", "0 cpu0 T MigrateDisable", "0 cpu0 T Bug", "10 cpu0 T MigrateEnable", "20 cpu0 T Exit"],
            Lines(r));
        Assert.Equal("0us T: migrate_disable overflow: depth 32767 (max 32767); ignored", Assert.Single(r.Bugs));
        Assert.Equal([1, 0, 0], pinned);
    }

    [Fact]
    public void Run_LocalLockAtTheMigrateDisableLimit_IsRefusedWithNothingTaken()
    {
        // The local lock pins first: at the limit it reports the overflow and takes nothing, as the
        // threaded LocalLock throws with nothing taken; its unlock is then reported as a wrong one.
        SimResult r = RunClean(
            Scenario(1, BalancePolicy.WorkConserving,
                Task("T", 10, cpu: 0, steps: [SimStep.Repeat(MigrateGuard.MaxDepth, MD), SimStep.LocalLock("l"), Run(10), SimStep.LocalUnlock("l"), SimStep.Repeat(MigrateGuard.MaxDepth, ME), Run(10)])));

        Assert.Equal("0us T: migrate_disable overflow: depth 32767 (max 32767); ignored", r.Bugs[0]);
        Assert.DoesNotContain(r.Bugs, b => b.Contains("exited", StringComparison.Ordinal));
        Assert.Contains("10 cpu0 T MigrateEnable", Lines(r));
    }

    [Fact]
    public void Run_Scenario5_NonRtMigrateDisableDefersTheSwitchToTheOutermostEnable()
    {
        // migrate_disable as preempt_disable: H (50) wakes at 15, L's points at 20..90 do not switch,
        // its migrate_enable at 100 does, at once.
        SimScenario s = new()
        {
            Cpus = 1,
            Model = PreemptionModel.NonRt,
            TickUs = 0,
            Tasks =
            [
                Task("L", 10, cpu: 0, steps: [MD, Run(100, 10), ME, Run(10)]),
                Task("H", 50, cpu: 0, spawn: 15, steps: [Run(10)]),
            ],
        };
        SimResult r = RunClean(s);

        Assert.Equal(
        [
            "0 cpu0 L Spawn", "0 cpu0 L SwitchIn", "15 cpu0 H Spawn", "100 cpu0 L Preempt", "100 cpu0 H SwitchIn",
            "110 cpu0 H Exit", "110 cpu0 L SwitchIn", "120 cpu0 L Exit",
        ], Lines(r));
        Assert.Equal(0, r.Task("L").InterferenceUs); // never waited migrate-disabled: it was preempt-disabled
    }

    [Fact]
    public void Run_Scenario29_PreemptEnableWithNoSwitchDueContinues()
    {
        // A lower task queued behind T: the outermost preempt_enable at 10 does not switch.
        SimResult r = RunClean(
            Scenario(1, BalancePolicy.WorkConserving,
                Task("T", 10, cpu: 0, steps: [PD, Run(10), PE, Run(10)]),
                Task("L", 5, cpu: 0, spawn: 5, steps: [Run(10)])));

        Assert.Equal(["0 cpu0 T Spawn", "0 cpu0 T SwitchIn", "5 cpu0 L Spawn", "20 cpu0 T Exit", "20 cpu0 L SwitchIn", "30 cpu0 L Exit"], Lines(r));
        Assert.Equal(0, r.Task("T").Preemptions);
    }

    [Fact]
    public void Run_Scenario30_PreemptEnableAtDepthZeroIsReportedAndTheDepthStaysZero()
    {
        // The depth stays 0, not −1: H (50), waking at 15, runs at T's next point (20).
        SimResult r = RunClean(
            Scenario(1, BalancePolicy.WorkConserving,
                Task("T", 10, cpu: 0, steps: [Run(10), PE, Run(30, 10)]),
                Task("H", 50, cpu: 0, spawn: 15, steps: [Run(5)])));

        Assert.Equal(
        [
            "0 cpu0 T Spawn", "0 cpu0 T SwitchIn", "10 cpu0 T Bug", "15 cpu0 H Spawn", "20 cpu0 T Preempt", "20 cpu0 H SwitchIn",
            "25 cpu0 H Exit", "25 cpu0 T SwitchIn", "45 cpu0 T Exit",
        ], Lines(r));
        Assert.Equal("10us T: preempt_enable underflow: depth already 0; ignored", Assert.Single(r.Bugs));
    }

    [Fact]
    public void Run_Scenario39_AnRtTaskPreemptsANormalTaskAtItsNextPoint()
    {
        // N is in the normal class (priority 0); R (RT 1, the lowest RT priority) wakes at 15.
        SimResult r = RunClean(
            Scenario(1, BalancePolicy.WorkConserving,
                Task("N", 0, cpu: 0, steps: [Run(30, 10)]),
                Task("R", 1, cpu: 0, spawn: 15, steps: [Run(5)])));

        Assert.Equal(
        [
            "0 cpu0 N Spawn", "0 cpu0 N SwitchIn", "15 cpu0 R Spawn", "20 cpu0 N Preempt", "20 cpu0 R SwitchIn",
            "25 cpu0 R Exit", "25 cpu0 N SwitchIn", "35 cpu0 N Exit",
        ], Lines(r));
    }
}
