using RtRuntime;
using RtRuntime.Simulation;
using static RtRuntime.Tests.Simulation.SimBuild;

namespace RtRuntime.Tests.Simulation;

/// <summary>
/// A push of the running task is requested as the threaded <c>Balancer.RequestPushRunning</c> (and
/// get_push_task) does: when none is in flight and the runner is migratable, without looking for a
/// CPU below it; the stopper looks at the runner's next preemption point
/// (<c>BalanceRules.StopTargetAcceptable</c>), so a CPU that drops meanwhile takes the runner.
/// </summary>
public class SimPushRequestTests
{
    // L(10) is preempted on CPU0 inside migrate_disable by H(50) while CPU1 runs X(60): no CPU is below
    // H. Y(30) waits on CPU1. The tick at 1000 sees the pile-up (WorkConserving) and asks CPU0 to push
    // H; X exits at 1003 and CPU1 runs Y(30); at H's next point (1004) the stopper finds CPU1 below H.
    private static SimScenario DropBetweenRequestAndPoint() => new()
    {
        Cpus = 2,
        Policy = BalancePolicy.WorkConserving,
        TickUs = 1000,
        AnticipateTimersUs = 0,
        Tasks =
        [
            Task("X", 60, cpu: 1, steps: [Run(1003)]),
            Task("L", 10, cpu: 0, steps: [MD, Run(3000, every: 10), ME]),
            Task("H", 50, cpu: 0, spawn: 5, steps: [Run(2000, every: 7)]),
            Task("Y", 30, cpu: 1, spawn: 7, steps: [Run(500, every: 10)]),
        ],
    };

    [Fact]
    public void Run_TickRequestsThePushWithNoCpuBelowYet_TheRunnerMovesToACpuThatDropsBeforeItsPoint()
    {
        SimResult r = RunClean(DropBetweenRequestAndPoint());

        // Before: the simulator requested the push only when a CPU was below H already, so the tick at
        // 1000 did nothing; H kept CPU0 until Y exited at 1503 and CPU1's pull saw the pile-up.
        Assert.Equal(
        [
            "0 cpu1 X Spawn", "0 cpu1 X SwitchIn", "0 cpu0 L Spawn", "0 cpu0 L SwitchIn", "0 cpu0 L MigrateDisable",
            "5 cpu0 H Spawn", "7 cpu1 Y Spawn", "10 cpu0 L Preempt", "10 cpu0 H SwitchIn",
            "1000 cpu0 H PushRequested", "1003 cpu1 X Exit", "1003 cpu1 Y SwitchIn",
            "1004 cpu0->cpu1 H PushRunning", "1004 cpu0 L SwitchIn", "1013 cpu1 Y Preempt", "1013 cpu1 H SwitchIn",
            "1013 cpu1->cpu0 Y Push", "1014 cpu0 L Preempt", "1014 cpu0 Y SwitchIn", "1504 cpu0 Y Exit", "1504 cpu0 L SwitchIn",
            "2019 cpu1 H Exit", "4484 cpu0 L MigrateEnable", "4484 cpu0 L Exit",
        ], Lines(r));
        Assert.Equal(1, r.RunningPushes);
    }
}
