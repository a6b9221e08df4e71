using RtRuntime;
using RtRuntime.Cpus;
using RtRuntime.Simulation;
using RtRuntime.Tasks;
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

    // P (30) runs pinned on CPU0 (a point every 10 µs); Z (78) runs on CPU2 alone, and CPU1 runs Y (50)
    // until 8. H (83) wakes on CPU0 at 5 (queued, to preempt P at its point), so CPU0 looks busy at 83
    // when T3 (46, CPUs 0 and 2) wakes at 6: it waits on CPU2 behind Z. At P's point (10) H preempts P
    // and the on-sight repair pushes H to CPU1, idle since 8 and below P; CPU0 falls back to P's 30: it
    // must pull T3 before it picks. (The thirty-third session's hunt found this with a generated scenario,
    // CsCheck seed 82bfA_gLK421, that the fortieth session's rule for a repair's target no longer reaches:
    // CPU0 used to pick P at once, a preemption, so no pull, leaving T3 waiting above it until the tick.)
    private static SimScenario RepairBesideAWaitingTask() => new()
    {
        Cpus = 3,
        Policy = BalancePolicy.WorkConserving,
        TickUs = 0,
        AnticipateTimersUs = 0,
        Tasks =
        [
            Spec("P", 30, SchedPolicy.Fifo, "0-2", 0, 0, MD, Run(300, 10), ME),
            Spec("Z", 78, SchedPolicy.Fifo, "2", 0, 2, Run(500)),
            Spec("Y", 50, SchedPolicy.Fifo, "1", 0, 1, Run(8)),
            Spec("H", 83, SchedPolicy.Fifo, "0-2", 5, 0, Run(100)),
            Spec("T3", 46, SchedPolicy.Fifo, "0,2", 6, 2, Run(100)),
        ],
    };

    [Fact]
    public void Run_WorkConserving_APinnedTasksPreemptersPushedAway_TheCpuPullsBeforeItPicks()
    {
        SimResult r = RunClean(RepairBesideAWaitingTask());

        string[] lines = Lines(r);
        int repair = Array.IndexOf(lines, "10 cpu0->cpu1 H PushRunning");
        Assert.True(repair >= 0, string.Join("\n", lines));
        Assert.Equal(["10 cpu2->cpu0 T3 Pull", "10 cpu0 T3 SwitchIn"], lines[(repair + 1)..(repair + 3)]);
    }

    private static SimTaskSpec Spec(string name, int prio, SchedPolicy policy, string mask, long spawn, int cpu, params SimStep[] steps) => new()
    {
        Name = name,
        Priority = prio,
        Policy = policy,
        Affinity = CpuSet.Parse(mask),
        SpawnUs = spawn,
        WakeCpu = cpu,
        Steps = steps,
    };
}
