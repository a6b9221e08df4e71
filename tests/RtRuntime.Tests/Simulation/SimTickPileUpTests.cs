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
}
