using RtRuntime;
using RtRuntime.Simulation;
using RtRuntime.Tasks;
using static RtRuntime.Tests.Simulation.SimBuild;

namespace RtRuntime.Tests.Simulation;

/// <summary>The kernel-reference acceptance scenarios (section 10) as simulator scenarios; times in µs.</summary>
internal static class SimScenarios
{
    /// <summary>4: L(10) migrate-disabled on the only CPU; H(50) wakes at 35 and runs at L's next preemption point (40).</summary>
    public static SimScenario PreemptibleWhileMigrationDisabled() => Scenario(1, BalancePolicy.WorkConserving,
        Task("L", 10, cpu: 0, steps: [MD, Run(100, 10), ME, Run(50)]),
        Task("H", 50, cpu: 0, spawn: 35, steps: [Run(20)]));

    /// <summary>6: T (mask 0-1) migrate-disabled on CPU0, preempted by H (mask 0) at 20 until 50.</summary>
    public static SimScenario LazyPin(BalancePolicy policy) => Scenario(2, policy,
        Task("T", 10, cpu: 0, affinity: "0-1", steps: [MD, Run(100, 10), ME, Run(10)]),
        Task("H", 50, cpu: 0, spawn: 15, affinity: "0", steps: [Run(30)]));

    /// <summary>
    /// 7: T blocks inside migrate_disable on CPU1; X (mask 1) runs on CPU1 from 40; W (5, mask 0) wakes T
    /// from CPU0 at 50 and ends, leaving CPU0 idle. Unpinned, T would be placed on CPU0 (busy below it,
    /// then idle) or pulled there; pinned, it must queue on CPU1 behind X.
    /// </summary>
    public static SimScenario BlockingInsideRegion() => Scenario(2, BalancePolicy.WorkConserving,
        Task("T", 10, cpu: 1, steps: [MD, SimStep.Wait("e"), Run(10), ME]),
        Task("X", 30, cpu: 1, spawn: 40, affinity: "1", steps: [Run(40)]),
        Task("W", 5, cpu: 0, spawn: 50, affinity: "0", steps: [SimStep.Signal("e")]));

    /// <summary>8: A(90), B(80), C(70) on 2 CPUs; A sleeps at 100 and CPU0 pulls C.</summary>
    public static SimScenario NHighest() => Scenario(2, BalancePolicy.WorkConserving,
        Task("A", 90, steps: [Run(100), Sleep(1000), Run(10)]),
        Task("B", 80, steps: [Run(500)]),
        Task("C", 70, steps: [Run(500)]));

    /// <summary>9: M(60) on CPU0, L(10) on CPU1; H(80) wakes on CPU0 at 25.</summary>
    public static SimScenario WakeAndPush() => Scenario(2, BalancePolicy.WorkConserving,
        Task("M", 60, cpu: 0, steps: [Run(100, 10)]),
        Task("L", 10, cpu: 1, steps: [Run(100, 10)]),
        Task("H", 80, cpu: 0, spawn: 25, steps: [Run(50)]));

    /// <summary>10: H(90) on CPU0, L(10) on CPU1; M(50) wakes at 25 with previous CPU 0.</summary>
    public static SimScenario WakePlacement() => Scenario(2, BalancePolicy.WorkConserving,
        Task("H", 90, cpu: 0, steps: [Run(100, 10)]),
        Task("L", 10, cpu: 1, steps: [Run(100, 10)]),
        Task("M", 50, cpu: 0, spawn: 25, steps: [Run(20)]));

    /// <summary>11: F1(50) runs; F2(50) wakes on the same (only) CPU at 25.</summary>
    public static SimScenario EqualPriority() => Scenario(1, BalancePolicy.WorkConserving,
        Task("F1", 50, cpu: 0, steps: [Run(100, 10)]),
        Task("F2", 50, cpu: 0, spawn: 25, steps: [Run(10)]));

    /// <summary>11, the exception: F1(50, mask 0-1) runs on CPU0 of 2, CPU1 idle; F2(50, mask 0) wakes on CPU0 at 25.</summary>
    public static SimScenario EqualPriorityRunnerCanMove(string runnerMask) => Scenario(2, BalancePolicy.KernelFaithful,
        Task("F1", 50, cpu: 0, affinity: runnerMask, steps: [Run(100, 10)]),
        Task("F2", 50, cpu: 0, spawn: 25, affinity: "0", steps: [Run(10)]));

    /// <summary>
    /// 38: one CPU, a 30 µs slice; A and B (20) spawn at 0 with <paramref name="policy"/>, each running
    /// 70 µs with a preemption point every 10 µs; C (RR 10) runs alone afterwards.
    /// </summary>
    public static SimScenario Slices(SchedPolicy policy) => new()
    {
        Cpus = 1,
        TickUs = 0,
        RoundRobinSliceUs = 30,
        Tasks =
        [
            WithPolicy(Task("A", 20, cpu: 0, steps: [Run(70, 10)]), policy),
            WithPolicy(Task("B", 20, cpu: 0, steps: [Run(70, 10)]), policy),
            WithPolicy(Task("C", 10, cpu: 0, steps: [Run(70, 10)]), SchedPolicy.RoundRobin),
        ],
    };

    internal static SimTaskSpec WithPolicy(SimTaskSpec t, SchedPolicy policy) => new()
    {
        Name = t.Name,
        Priority = t.Priority,
        WakeCpu = t.WakeCpu,
        SpawnUs = t.SpawnUs,
        Affinity = t.Affinity,
        Steps = t.Steps,
        Policy = policy,
    };

    /// <summary>12/13/15 base: L(10) migrate-disabled on CPU0, R(30) on CPU1 blocks at 100, H(50) wakes on CPU0 at 25.</summary>
    public static SimScenario PullRepair(BalancePolicy policy, bool runnerPinned = false) => Scenario(2, policy,
        Task("L", 10, cpu: 0, steps: [MD, Run(200, 10), ME]),
        Task("R", 30, cpu: 1, steps: [Run(100), Sleep(10_000)]),
        Task("H", 50, cpu: 0, spawn: 25, steps: runnerPinned ? [MD, Run(200, 10), ME, Run(10)] : [Run(200, 10)]));

    /// <summary>13: CPU1 idle with no RT activity; L(10) migrate-disabled on CPU0; H(50) wakes on CPU0 at 25.</summary>
    public static SimScenario IdleNoPull(BalancePolicy policy) => Scenario(2, policy,
        Task("L", 10, cpu: 0, steps: [MD, Run(200, 10), ME]),
        Task("H", 50, cpu: 0, spawn: 25, steps: [Run(100, 10)]));

    /// <summary>
    /// 14: as 12, but H is preempt-disabled from 90 to 110 (so the stopper requested at 100 cannot run) and
    /// enters migrate_disable at 110 before its preempt_enable; its migrate_enable at 130 pushes it.
    /// </summary>
    public static SimScenario DeferredPush() => Scenario(2, BalancePolicy.KernelFaithful,
        Task("L", 10, cpu: 0, steps: [MD, Run(200, 10), ME]),
        Task("R", 30, cpu: 1, steps: [Run(100), Sleep(10_000)]),
        Task("H", 50, cpu: 0, spawn: 25, steps: [Run(60), PD, Run(20), MD, PE, Run(20), ME, Run(50)]));

    /// <summary>16: T1(10)..T4(40) wake in turn on CPU0 of 4, each preempting the previous inside migrate_disable.</summary>
    public static SimScenario PileUp(BalancePolicy policy) => Scenario(4, policy,
        Task("T1", 10, cpu: 0, steps: [MD, Run(100, 10), ME]),
        Task("T2", 20, cpu: 0, spawn: 5, steps: [MD, Run(100, 10), ME]),
        Task("T3", 30, cpu: 0, spawn: 15, steps: [MD, Run(100, 10), ME]),
        Task("T4", 40, cpu: 0, spawn: 25, steps: [MD, Run(100, 10), ME, Run(10)]));

    /// <summary>19: CPU1 inactive; V (mask 0-1, previous CPU 1) wakes.</summary>
    public static SimScenario InactiveCpu() => new()
    {
        Cpus = 2,
        TickUs = 0,
        InactiveCpus = RtRuntime.Cpus.CpuSet.Of(1),
        Tasks = [Task("V", 20, cpu: 1, affinity: "0-1", steps: [Run(10)])],
    };

    /// <summary>22: T (mask 0-1) preempted inside migrate_disable on CPU0 by H (mask 0); P1 on CPU1 sets T to {1} at 20.</summary>
    public static SimScenario DeferredAffinity() => Scenario(2, BalancePolicy.KernelFaithful,
        Task("T", 10, cpu: 0, affinity: "0-1", steps: [MD, Run(100, 10), ME, Run(20)]),
        Task("H", 50, cpu: 0, spawn: 5, affinity: "0", steps: [Run(30)]),
        Task("P1", 5, cpu: 1, spawn: 20, affinity: "1", steps: [Aff("T", "1"), Run(5)]));

    /// <summary>23/24: T migrate-disabled on CPU0 of 3; P1 (CPU1) asks {1} at 10; P2 (CPU2) asks <paramref name="second"/> at 20.</summary>
    public static SimScenario TwoRequests(string second) => Scenario(3, BalancePolicy.KernelFaithful,
        Task("T", 10, cpu: 0, steps: [MD, Run(100), ME, Run(20)]),
        Task("P1", 5, cpu: 1, spawn: 10, affinity: "1", steps: [Aff("T", "1"), Run(5)]),
        Task("P2", 5, cpu: 2, spawn: 20, affinity: "2", steps: [Aff("T", second), Run(5)]));

    /// <summary>25: T migrate-disabled on CPU0 of 3; P (CPU1) asks {0,2} at 10.</summary>
    public static SimScenario RequestIncludesCurrent() => Scenario(3, BalancePolicy.KernelFaithful,
        Task("T", 10, cpu: 0, steps: [MD, Run(100), ME, Run(20)]),
        Task("P", 5, cpu: 1, spawn: 10, affinity: "1", steps: [Aff("T", "0,2"), Run(5)]));

    /// <summary>26: T (mask 0-2) inside migrate_disable on CPU0 asks {1} for itself, then {0,1}.</summary>
    public static SimScenario SelfAffinity() => Scenario(3, BalancePolicy.KernelFaithful,
        Task("T", 10, cpu: 0, affinity: "0-2", steps: [MD, Run(10), Aff("T", "1"), Run(10), Aff("T", "0-1"), ME, Run(10)]));

    /// <summary>27: T (mask 0-1) asks {0,1} for itself.</summary>
    public static SimScenario NoOpAffinity() => Scenario(2, BalancePolicy.KernelFaithful,
        Task("T", 10, cpu: 0, affinity: "0-1", steps: [Run(10), Aff("T", "0-1"), Run(10)]));
}
