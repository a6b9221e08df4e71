using RtRuntime;
using RtRuntime.Simulation;
using static RtRuntime.Tests.Simulation.SimBuild;

namespace RtRuntime.Tests.Simulation;

/// <summary>
/// The rebalancer's tick repairs a migrate-disable pile-up under WorkConserving, as the threaded
/// rebalancer's pass does (<c>Balancer.PushWaiting</c>: a pinned task passed over asks its CPU to
/// push its running task; docs/balancing.md, <c>BalanceRules.MayRepairPileUp</c>).
/// </summary>
public class SimTickPileUpTests
{
    // L(10) is preempted on CPU0 inside migrate_disable by H(50), affine to CPU0 alone, so no pile-up
    // repair can move H then. H then widens its own affinity to both CPUs: the request completes at
    // once (H runs inside it), so nothing but the tick looks again. CPU1 runs B(5) all along, so no
    // CPU pulls. At the tick (1000) H may go to CPU1 (busy below it) and L resume on CPU0.
    private static SimScenario PileUpOnlyTheTickSees(BalancePolicy policy) => new()
    {
        Cpus = 2,
        Policy = policy,
        TickUs = 1000,
        AnticipateTimersUs = 0,
        Tasks =
        [
            Task("B", 5, cpu: 1, affinity: "1", steps: [Run(5000, every: 100)]),
            Task("L", 10, cpu: 0, steps: [MD, Run(1000, every: 10), ME]),
            Task("H", 50, cpu: 0, spawn: 5, affinity: "0", steps: [Aff("H", "0-1"), Run(3000, every: 10)]),
        ],
    };

    [Fact]
    public void Run_PileUpSeenOnlyAtTheTick_WorkConservingPushesTheRunnerAtItsNextPoint()
    {
        SimResult r = RunClean(PileUpOnlyTheTickSees(BalancePolicy.WorkConserving));

        // Before the fix the simulator's tick only pushed queued migratable tasks: H kept CPU0 until
        // its exit at 3010 while L waited pinned and CPU1 ran B(5).
        Assert.Equal(
        [
            "0 cpu1 B Spawn", "0 cpu1 B SwitchIn", "0 cpu0 L Spawn", "0 cpu0 L SwitchIn", "0 cpu0 L MigrateDisable",
            "5 cpu0 H Spawn", "10 cpu0 L Preempt", "10 cpu0 H SwitchIn", "10 cpu0 H AffinitySet H", "10 cpu0 H AffinityDone H",
            "1000 cpu0 H PushRequested", "1000 cpu0->cpu1 H PushRunning", "1000 cpu0 L SwitchIn",
            "1100 cpu1 B Preempt", "1100 cpu1 H SwitchIn",
            "1990 cpu0 L MigrateEnable", "1990 cpu0 L Exit",
            "3110 cpu1 H Exit", "3110 cpu1 B SwitchIn", "7010 cpu1 B Exit",
        ], Lines(r));
        Assert.Equal(1, r.RunningPushes);
    }

    [Theory]
    [InlineData(BalancePolicy.KernelFaithful)]
    [InlineData(BalancePolicy.NoPushRunning)]
    public void Run_PileUpSeenOnlyAtTheTick_OtherPoliciesLeaveIt(BalancePolicy policy)
    {
        SimResult r = RunClean(PileUpOnlyTheTickSees(policy));

        Assert.DoesNotContain(r.Trace, e => e.Kind is SimEventKind.PushRequested or SimEventKind.PushRunning);
        Assert.Equal(0, r.RunningPushes);
    }

    // P(30) is preempted on CPU0 inside migrate_disable by R(50) while CPU1 runs X(60), so the repair
    // on sight finds no CPU for R. M(40) then queues on CPU0 ahead of P, and Y(45) on CPU1; X exits at
    // 300 and CPU1 runs Y. At the tick, CPU0's pushable head is M (migratable): it finds no CPU below
    // it (CPU1 runs 45), and P behind it is not looked at, so nothing moves, as the threaded
    // rebalancer's pass (Balancer.PushWaiting, the kernel's push_rt_task: the head only) leaves it.
    private static SimScenario PinnedBehindTheHead() => new()
    {
        Cpus = 2,
        Policy = BalancePolicy.WorkConserving,
        TickUs = 1000,
        AnticipateTimersUs = 0,
        Tasks =
        [
            Task("X", 60, cpu: 1, steps: [Run(300)]),
            Task("P", 30, cpu: 0, steps: [MD, Run(500, every: 10), ME]),
            Task("R", 50, cpu: 0, spawn: 5, steps: [Run(2000, every: 10)]),
            Task("M", 40, cpu: 0, spawn: 6, steps: [Run(100, every: 10)]),
            Task("Y", 45, cpu: 1, spawn: 7, steps: [Run(2000, every: 10)]),
        ],
    };

    [Fact]
    public void Run_PinnedTaskBehindAMovableHead_TheTickLeavesItAsTheRuntimesPassDoes()
    {
        SimResult r = RunClean(PinnedBehindTheHead());

        // Before the tick shared the runtime's scan (PushWaitingScan) it asked CPU0 to push R whenever
        // any pinned task waited there: R went to CPU1 at 1000 and preempted Y(45), so CPU0 ran M(40)
        // while Y waited: the two highest runnable tasks no longer both ran.
        Assert.Equal(
        [
            "0 cpu1 X Spawn", "0 cpu1 X SwitchIn", "0 cpu0 P Spawn", "0 cpu0 P SwitchIn", "0 cpu0 P MigrateDisable",
            "5 cpu0 R Spawn", "6 cpu0 M Spawn", "7 cpu1 Y Spawn", "10 cpu0 P Preempt", "10 cpu0 R SwitchIn",
            "300 cpu1 X Exit", "300 cpu1 Y SwitchIn",
            "2010 cpu0 R Exit", "2010 cpu0 M SwitchIn", "2110 cpu0 M Exit", "2110 cpu0 P SwitchIn",
            "2300 cpu1 Y Exit", "2600 cpu0 P MigrateEnable", "2600 cpu0 P Exit",
        ], Lines(r));
        Assert.Equal(0, r.RunningPushes);
    }
}
