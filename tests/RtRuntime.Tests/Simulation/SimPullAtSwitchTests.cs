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

    // Found by a 300,000-scenario hunt (RT_SIM_EXPLORE, CsCheck seed 82bfA_gLK421, shrunk). T4 (30) runs
    // pinned on CPU0, and the on-sight repair pushes every task that preempts it (T1, 83) away at each of
    // its points. At 106 T3 (46, mask {0,2} since then) leaves CPU1 at its migrate_enable and waits on
    // CPU2 behind T0 (78), which woke there: CPU0 then looked busy at 83 (T1 queued to preempt T4). At 112
    // the repair pushes T1 to the idle CPU1 and CPU0 falls back to T4's 30: it must pull T3 before it
    // picks. It used to pick T4 at once (a preemption, so no pull), leaving T3 waiting above it until the tick.
    private static SimScenario RepairBesideAWaitingTask() => new()
    {
        Cpus = 3,
        Policy = BalancePolicy.WorkConserving,
        TickUs = 0,
        AnticipateTimersUs = 0,
        RoundRobinSliceUs = 30,
        Tasks =
        [
            Spec("T0", 78, SchedPolicy.RoundRobin, "2", 23, -1, MD, MD, SimStep.Signal("a"), SimStep.PreemptionPoint(), Run(42, 14), ME, MD, Run(41), SimStep.Signal("b"), Aff("T3", "0,2"), ME, ME, Run(54, 21)),
            Spec("T1", 83, SchedPolicy.Fifo, "0-2", 45, 1, PD, Run(28, 21), SimStep.Yield(), MD, Run(5, 7), Run(48), ME, PE, SimStep.Yield(), Run(43, 7)),
            Spec("T2", 37, SchedPolicy.Fifo, "2", 13, 1, Aff("T2", "1-2"), SimStep.Signal("a")),
            Spec("T3", 46, SchedPolicy.Fifo, "1", 18, 0, MD, MD, Aff("T4", "0"), Sleep(7), ME, ME, MD, Run(49, 7), Run(32, 21), ME, Run(34, 7)),
            Spec("T4", 30, SchedPolicy.RoundRobin, "0-2", 42, 2, Run(1, 14), SimStep.Yield(), MD, Run(48, 21), MD, Run(55, 21), Run(50, 7), ME, Sleep(9), ME, Run(48, 21)),
        ],
    };

    [Fact]
    public void Run_WorkConserving_APinnedTasksPreemptersPushedAway_TheCpuPullsBeforeItPicks()
    {
        SimResult r = RunClean(RepairBesideAWaitingTask());

        string[] lines = Lines(r);
        int repair = Array.IndexOf(lines, "112 cpu0->cpu1 T1 PushRunning");
        Assert.True(repair >= 0, string.Join("\n", lines));
        Assert.Equal(["112 cpu2->cpu0 T3 Pull", "112 cpu0 T3 SwitchIn"], lines[(repair + 1)..(repair + 3)]);
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
