using RtRuntime;
using RtRuntime.Simulation;
using static RtRuntime.Tests.Simulation.SimBuild;

namespace RtRuntime.Tests.Simulation;

/// <summary>
/// When a CPU pulls as its running task leaves, as the threaded dispatcher does: after a block or an
/// exit (<c>Cpu.PickAfterLeave</c>, else the turn loop's <c>Balancer.PullIfBetter</c>), or when nothing
/// is left to pick; not after a preemption, a yield or a stopper move with tasks still queued
/// (<c>PickDirect</c>, <c>YieldAndPick</c>: need_pull_rt_task is false while prev stays queued).
/// </summary>
public class SimPullAtSwitchTests
{
    // T(40) is preempted on CPU1 inside migrate_disable by R(60): a pile-up that KernelFaithful leaves
    // until a CPU drops from an RT priority and pulls. P(20) wakes on CPU0 and preempts L(10) at 20: a
    // rise, not a drop. P exits at 120: CPU0 drops from 20 and its pull sees T, so R is pushed to CPU0.
    private static SimScenario PreemptionBesideAPileUp() => new()
    {
        Cpus = 2,
        Policy = BalancePolicy.KernelFaithful,
        TickUs = 0,
        AnticipateTimersUs = 0,
        Tasks =
        [
            Task("L", 10, cpu: 0, steps: [Run(1000, every: 10)]),
            Task("T", 40, cpu: 1, steps: [MD, Run(300, every: 10), ME]),
            Task("R", 60, cpu: 1, spawn: 5, steps: [Run(500, every: 7)]),
            Task("P", 20, cpu: 0, spawn: 15, steps: [Run(100, every: 10)]),
        ],
    };

    [Fact]
    public void Run_KernelFaithful_APreemptionIsNoDrop_ThePileUpIsRepairedOnlyWhenThePreempterLeaves()
    {
        SimResult r = RunClean(PreemptionBesideAPileUp());

        // Before: the simulator pulled after every switch, the preemption at 20 included (with L's 10
        // as the priority CPU0 "dropped from"), so R was pushed to CPU0 at 24, a hundred µs early.
        Assert.Equal(
        [
            "0 cpu0 L Spawn", "0 cpu0 L SwitchIn", "0 cpu1 T Spawn", "0 cpu1 T SwitchIn", "0 cpu1 T MigrateDisable",
            "5 cpu1 R Spawn", "10 cpu1 T Preempt", "10 cpu1 R SwitchIn",
            "15 cpu0 P Spawn", "20 cpu0 L Preempt", "20 cpu0 P SwitchIn",
            "120 cpu0 P Exit", "120 cpu1 R PushRequested", "120 cpu0 L SwitchIn",
            "122 cpu1->cpu0 R PushRunning", "122 cpu1 T SwitchIn", "130 cpu0 L Preempt", "130 cpu0 R SwitchIn",
            "412 cpu1 T MigrateEnable", "412 cpu1 T Exit", "412 cpu0->cpu1 L Pull", "412 cpu1 L SwitchIn",
            "518 cpu0 R Exit", "1382 cpu1 L Exit",
        ], Lines(r));
        Assert.Equal(1, r.RunningPushes);
    }

    // The same pile-up on CPU1; L(10) on CPU0 yields at 30 with nothing else queued there, so it goes
    // on. A yield is no drop either (the threaded YieldAndPick picks without pulling): under
    // KernelFaithful nothing repairs the pile-up, and T waits until R exits.
    private static SimScenario YieldBesideAPileUp() => new()
    {
        Cpus = 2,
        Policy = BalancePolicy.KernelFaithful,
        TickUs = 0,
        AnticipateTimersUs = 0,
        Tasks =
        [
            Task("L", 10, cpu: 0, steps: [Run(30, every: 10), SimStep.Yield(), Run(1000, every: 10)]),
            Task("T", 40, cpu: 1, steps: [MD, Run(300, every: 10), ME]),
            Task("R", 60, cpu: 1, spawn: 5, steps: [Run(500, every: 7)]),
        ],
    };

    [Fact]
    public void Run_KernelFaithful_AYieldIsNoDrop_ThePileUpStaysUntilTheRunnerEnds()
    {
        SimResult r = RunClean(YieldBesideAPileUp());

        // Before: the yield pulled with L's 10 as the priority CPU0 "dropped from", and R was pushed to
        // CPU0 at its next point (31), where it ran over L.
        Assert.Equal(
        [
            "0 cpu0 L Spawn", "0 cpu0 L SwitchIn", "0 cpu1 T Spawn", "0 cpu1 T SwitchIn", "0 cpu1 T MigrateDisable",
            "5 cpu1 R Spawn", "10 cpu1 T Preempt", "10 cpu1 R SwitchIn", "30 cpu0 L Yield", "30 cpu0 L SwitchIn",
            "510 cpu1 R Exit", "510 cpu1 T SwitchIn", "800 cpu1 T MigrateEnable", "800 cpu1 T Exit", "1030 cpu0 L Exit",
        ], Lines(r));
        Assert.Equal(0, r.RunningPushes);
    }
}
