using RtRuntime;
using RtRuntime.Simulation;
using static RtRuntime.Tests.Simulation.SimBuild;

namespace RtRuntime.Tests.Simulation;

/// <summary>
/// The simulator's pull walks the overloaded CPUs in rounds, as the threaded <c>Balancer.PullIfBetter</c>
/// does (shared code: <c>Scheduling.PullRounds</c>, <c>Scheduling.PullScan</c>), and as pull_rt_task goes
/// on through the rto_mask after a pull with its raised highest_prio.
/// </summary>
public class SimPullRoundsTests
{
    // Z(90) holds CPU0 until 100. CPU1 runs R1(60) with A(50), allowed on CPUs 1-2 only, and B(40)
    // queued; CPU2 runs R2(70) with C(45) queued. When Z exits, CPU0 pulls: CPU1 has the highest
    // pushable task (A, 50) but offers only B; the next round, above B, takes C from CPU2.
    private static SimScenario LowerSourceFirst() => new()
    {
        Cpus = 3,
        Policy = BalancePolicy.WorkConserving,
        TickUs = 0,
        AnticipateTimersUs = 0,
        Tasks =
        [
            Task("Z", 90, cpu: 0, steps: [Run(100)]),
            Task("R1", 60, cpu: 1, steps: [Run(1000)]),
            Task("R2", 70, cpu: 2, steps: [Run(1000)]),
            Task("A", 50, cpu: 1, affinity: "1-2", steps: [Run(10)]),
            Task("B", 40, cpu: 1, steps: [Run(10)]),
            Task("C", 45, cpu: 2, steps: [Run(10)]),
        ],
    };

    [Fact]
    public void Run_PullerOfferedALowerTaskFirst_PullsItThenTheHigherOneAsTheRuntimeDoes()
    {
        SimResult r = RunClean(LowerSourceFirst());

        // Before the simulator shared the runtime's rounds, it took only the best task of all sources
        // (C), and B stayed on CPU1 until CPU0 idled again at 110 and pulled it then.
        Assert.Equal(
        [
            "0 cpu0 Z Spawn", "0 cpu0 Z SwitchIn", "0 cpu1 R1 Spawn", "0 cpu1 R1 SwitchIn", "0 cpu2 R2 Spawn", "0 cpu2 R2 SwitchIn",
            "0 cpu1 A Spawn", "0 cpu1 B Spawn", "0 cpu2 C Spawn",
            "100 cpu0 Z Exit", "100 cpu1->cpu0 B Pull", "100 cpu2->cpu0 C Pull", "100 cpu0 C SwitchIn",
            "110 cpu0 C Exit", "110 cpu0 B SwitchIn", "120 cpu0 B Exit",
            "1000 cpu1 R1 Exit", "1000 cpu1 A SwitchIn", "1000 cpu2 R2 Exit", "1010 cpu1 A Exit",
        ], Lines(r));
        Assert.Equal(2, r.Pulls);
    }
}
