using RtRuntime;
using RtRuntime.Simulation;
using static RtRuntime.Tests.Simulation.SimBuild;

namespace RtRuntime.Tests.Simulation;

/// <summary>The invariant checker catches each broken invariant (faults injected into the engine on purpose).</summary>
public class SimInvariantTests
{
    private static SimResult RunWithFault(SimScenario scenario, SimFault fault) =>
        Simulator.Run(scenario, 0, new SimOptions { InjectFault = fault });

    [Fact]
    public void Run_TaskLostWhileBlocked_ReportsTaskLost()
    {
        SimResult r = RunWithFault(SimScenarios.NHighest(), SimFault.LoseBlockedTask);
        SimViolation v = Assert.Single(r.Violations.Take(1));
        Assert.Equal(SimViolationKind.TaskLostOrDuplicated, v.Kind);
        Assert.Contains("A (Sleeping) found in 0 places", v.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_TaskDuplicated_ReportsDuplicate()
    {
        SimResult r = RunWithFault(SimScenarios.WakeAndPush(), SimFault.DuplicatePreemptedTask);
        Assert.Contains(r.Violations, v => v.Kind == SimViolationKind.TaskLostOrDuplicated && v.Message.Contains("found in 2 places", StringComparison.Ordinal));
    }

    [Fact]
    public void Run_PinnedTaskMoved_ReportsPinnedTaskMoved()
    {
        SimResult r = RunWithFault(SimScenarios.IdleNoPull(BalancePolicy.KernelFaithful), SimFault.MovePinnedTask);
        SimViolation v = r.Violations[0];
        Assert.Equal(SimViolationKind.PinnedTaskMoved, v.Kind);
        Assert.Equal("L moved cpu0->cpu1 at migrate-disable depth 1", v.Message);
        Assert.Equal(30, v.TimeUs);
    }

    [Fact]
    public void Run_PreemptDisabledTaskSwitchedOut_ReportsIt()
    {
        SimScenario s = Scenario(1, BalancePolicy.WorkConserving,
            Task("L", 10, cpu: 0, steps: [PD, Run(100, 10), PE]),
            Task("H", 50, cpu: 0, spawn: 15, steps: [Run(10)]));
        SimResult r = RunWithFault(s, SimFault.SwitchOutPreemptDisabled);
        SimViolation v = Assert.Single(r.Violations);
        Assert.Equal(SimViolationKind.PreemptDisabledSwitchedOut, v.Kind);
        Assert.Equal(20, v.TimeUs);
    }

    [Fact]
    public void Run_PreemptDisabledWithoutFault_SwitchesOnlyAtOutermostEnable()
    {
        SimScenario s = Scenario(1, BalancePolicy.WorkConserving,
            Task("L", 10, cpu: 0, steps: [PD, PD, Run(100, 10), PE, Run(10), PE, Run(10)]),
            Task("H", 50, cpu: 0, spawn: 15, steps: [Run(10)]));
        SimResult r = RunClean(s);
        Assert.Contains("110 cpu0 L Preempt", Lines(r)); // depth 2->1 at 100 (no switch), 1->0 at 110
        Assert.Contains("110 cpu0 H SwitchIn", Lines(r));
    }

    [Fact]
    public void Run_NoBalancing_ReportsNotHighest()
    {
        SimResult r = RunWithFault(SimScenarios.NHighest(), SimFault.NoBalancing);
        SimViolation v = r.Violations[0];
        Assert.Equal(SimViolationKind.NotHighest, v.Kind);
        Assert.Equal("B(80) waits on cpu0 while cpu1 runs idle", v.Message);
    }

    [Fact]
    public void Run_NotHighestWhileAnotherCpuHasASwitchPending_IsStillReported()
    {
        // CPU0's runner P is preempt-disabled from 0 to 1000 with H (90) queued behind it from 5: CPU0 has a
        // switch pending all along. On CPU1, C (70) waits behind B (80) from 10 to 100 while CPU2 idles (no
        // balancing). Before, the check ran only when no CPU at all had a switch pending, and saw nothing.
        SimScenario s = Scenario(3, BalancePolicy.WorkConserving,
            Task("P", 10, cpu: 0, affinity: "0", steps: [PD, Run(1000), PE]),
            Task("H", 90, cpu: 0, spawn: 5, affinity: "0", steps: [Run(10)]),
            Task("B", 80, cpu: 1, steps: [Run(100)]),
            Task("C", 70, cpu: 1, spawn: 10, steps: [Run(100)]));
        SimResult r = RunWithFault(s, SimFault.NoBalancing);
        SimViolation v = Assert.Single(r.Violations.Take(1));
        Assert.Equal(SimViolationKind.NotHighest, v.Kind);
        Assert.Equal(10, v.TimeUs);
        Assert.Equal("C(70) waits on cpu1 while cpu2 runs idle", v.Message); // not cpu0: it is about to run H
    }

    [Fact]
    public void Run_PileUpLeftUnderWorkConserving_ReportsIt()
    {
        // No balancing: H (50) is placed on CPU0 and preempts the pinned L at 30 while CPU1 idles.
        SimResult r = RunWithFault(SimScenarios.IdleNoPull(BalancePolicy.WorkConserving), SimFault.NoBalancing);
        SimViolation v = r.Violations[0];
        Assert.Equal(SimViolationKind.NotHighest, v.Kind);
        Assert.Equal(30, v.TimeUs);
        Assert.Equal("pile-up on cpu0: L(10) pinned under H(50) while cpu1 idles (WorkConserving)", v.Message);
    }

    [Fact]
    public void Run_ThrowOnViolation_ThrowsAtFirstViolation()
    {
        var options = new SimOptions { InjectFault = SimFault.NoBalancing, ThrowOnViolation = true };
        SimInvariantException e = Assert.Throws<SimInvariantException>(() => Simulator.Run(SimScenarios.NHighest(), 0, options));
        Assert.Equal(SimViolationKind.NotHighest, e.Violation!.Kind);
    }

    [Fact]
    public void Run_SchedulingWhileAtomic_ReportsBugAndResetsDepth()
    {
        SimScenario s = Scenario(1, BalancePolicy.WorkConserving,
            Task("T", 10, cpu: 0, steps: [PD, Sleep(10), Run(10)]),
            Task("H", 50, cpu: 0, spawn: 15, steps: [Run(10)]));
        SimResult r = RunClean(s);
        Assert.Equal("0us T: BUG: scheduling while atomic: T/0/0x00000001", Assert.Single(r.Bugs));
        Assert.Contains("20 cpu0 T Preempt", Lines(r)); // depth was reset: T is preemptible again
    }
}
