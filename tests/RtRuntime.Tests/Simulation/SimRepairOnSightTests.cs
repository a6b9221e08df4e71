using RtRuntime;
using RtRuntime.Simulation;
using static RtRuntime.Tests.Simulation.SimBuild;

namespace RtRuntime.Tests.Simulation;

/// <summary>
/// WorkConserving's repair on sight: when a migrate-disabled task is preempted, every task queued above
/// it is pushed to a CPU busy below it before it runs, as the threaded <c>Balancer.AfterPreempt</c> does
/// (it goes on past a task that finds no CPU).
/// </summary>
public class SimRepairOnSightTests
{
    // P(10) runs pinned on CPU0 (a point every 30 µs). H1(60), affine to CPU0 alone, and H2(55) wake
    // there while CPU1 runs X(70), so both queue on CPU0. X exits at 20 and CPU1 runs L(5), below P: no
    // pull takes H2 (it outranks P, which runs on its source). At P's point (30) H1 preempts it; H1
    // cannot move, H2 can: it goes to CPU1 as a running push before H1 switches in. (With L above P, a
    // repair may not target CPU1; H2 goes there by the plain push after H1's pick instead.)
    private static SimScenario HeadAffineToThePinnedCpu() => new()
    {
        Cpus = 2,
        Policy = BalancePolicy.WorkConserving,
        TickUs = 0,
        AnticipateTimersUs = 0,
        Tasks =
        [
            Task("P", 10, cpu: 0, steps: [MD, Run(300, every: 30), ME]),
            Task("X", 70, cpu: 1, steps: [Run(20)]),
            Task("L", 5, cpu: 1, affinity: "1", steps: [Run(500, every: 10)]),
            Task("H1", 60, cpu: 0, spawn: 5, affinity: "0", steps: [Run(100)]),
            Task("H2", 55, cpu: 0, spawn: 6, steps: [Run(100)]),
        ],
    };

    [Fact]
    public void Run_PinnedPreemptedUnderAnUnmovableHead_TheNextTaskAboveItIsStillPushedOnSight()
    {
        SimResult r = RunClean(HeadAffineToThePinnedCpu());

        // Before, the simulator stopped at the head (H1, which may not move): H2 was moved only by the
        // post-schedule push after H1 had switched in, as a plain push.
        Assert.Equal(
        [
            "0 cpu0 P Spawn", "0 cpu0 P SwitchIn", "0 cpu0 P MigrateDisable", "0 cpu1 X Spawn", "0 cpu1 X SwitchIn", "0 cpu1 L Spawn",
            "5 cpu0 H1 Spawn", "6 cpu0 H2 Spawn", "20 cpu1 X Exit", "20 cpu1 L SwitchIn",
            "30 cpu0 P Preempt", "30 cpu0->cpu1 H2 PushRunning", "30 cpu0 H1 SwitchIn", "30 cpu1 L Preempt", "30 cpu1 H2 SwitchIn",
            "130 cpu0 H1 Exit", "130 cpu0 P SwitchIn", "130 cpu1 H2 Exit", "130 cpu1 L SwitchIn",
            "400 cpu0 P MigrateEnable", "400 cpu0 P Exit", "620 cpu1 L Exit",
        ], Lines(r));
        Assert.Equal(1, r.RunningPushes);
        Assert.Equal(0, r.Pushes);
    }
}
