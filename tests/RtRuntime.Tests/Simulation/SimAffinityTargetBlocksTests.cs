using RtRuntime;
using RtRuntime.Cpus;
using RtRuntime.Simulation;
using static RtRuntime.Tests.Simulation.SimBuild;

namespace RtRuntime.Tests.Simulation;

/// <summary>
/// An affinity request for a running migratable task that blocks before its next preemption point
/// completes at the block (kernel-reference section 5: migration_cpu_stop finds the task asleep, sets its
/// wake_cpu and completes; the threaded runtime's <c>OnBlockedMigratable</c>), not at the task's wakeup.
/// </summary>
public class SimAffinityTargetBlocksTests
{
    // At 10, X on CPU2 wakes P (CPU1) and then T (CPU0); P runs first and asks for T on {2} while T is
    // switched in but has not run a step; T's first step waits on g, which Y signals only at 100.
    private static SimScenario TargetBlocksBeforeItsPoint() => new()
    {
        Cpus = 3,
        Policy = BalancePolicy.WorkConserving,
        TickUs = 0,
        AnticipateTimersUs = 0,
        Tasks =
        [
            Task("P", 20, cpu: 1, affinity: "1", steps: [SimStep.Wait("e"), Aff("T", "2"), Run(5)]),
            Task("T", 10, cpu: 0, steps: [SimStep.Wait("f"), SimStep.Wait("g"), Run(10)]),
            Task("X", 30, cpu: 2, spawn: 10, affinity: "2", steps: [SimStep.Signal("e"), SimStep.Signal("f")]),
            Task("Y", 30, cpu: 2, spawn: 100, affinity: "2", steps: [SimStep.Signal("g")]),
        ],
    };

    [Fact]
    public void Run_RunningTargetBlocksBeforeItsPoint_TheCallerReturnsAtTheBlock()
    {
        SimResult r = RunClean(TargetBlocksBeforeItsPoint());
        string[] lines = Lines(r);

        // Before: P stayed blocked until T woke at 100 (for ever had nothing signalled g) and ended at 105.
        Assert.Equal(
            ["10 cpu1 P AffinitySet T", "10 cpu1 P Block", "10 cpu0 T Block", "10 cpu1 P AffinityDone T", "10 cpu1 P Wakeup", "10 cpu1 P SwitchIn"],
            lines.SkipWhile(l => l != "10 cpu1 P AffinitySet T").Take(6));
        Assert.Equal(15, r.Task("P").ExitUs);

        // T's wakeup reads the new mask.
        Assert.Contains("100 cpu2 T Wakeup", lines);
        Assert.Equal(110, r.Task("T").ExitUs);
        Assert.Equal(CpuSet.Of(2), r.Task("T").Affinity);
    }
}
