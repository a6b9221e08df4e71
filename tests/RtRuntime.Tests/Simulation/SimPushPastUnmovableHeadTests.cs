using RtRuntime;
using RtRuntime.Simulation;
using static RtRuntime.Tests.Simulation.SimBuild;

namespace RtRuntime.Tests.Simulation;

/// <summary>
/// The rebalancer's pass in the simulator (the re-push after a drop) goes past a head
/// pushable task that no CPU runs below, as the threaded <c>Balancer.PushWaiting</c> does
/// (PushPastUnmovableHeadTests): a lower task queued behind it that another CPU would run now moves there.
/// </summary>
public class SimPushPastUnmovableHeadTests
{
    [Fact]
    public void Run_ARunnerDroppingBelowATaskQueuedBehindAnUnmovableHead_GetsThatTask()
    {
        // CPU0 runs R (50) with A (45, CPU0/CPU1) and B (30, CPU0/CPU2) queued; CPU1 runs H (60); CPU2 runs
        // X (40), which drops to 10 at 10 µs: B moves to CPU2 and preempts X at its point at 15.
        SimResult r = RunClean(Scenario(3, BalancePolicy.WorkConserving,
            Task("R", 50, cpu: 0, affinity: "0", steps: [Run(100, every: 5)]),
            Task("H", 60, cpu: 1, affinity: "1", steps: [Run(100, every: 5)]),
            Task("X", 40, cpu: 2, affinity: "2", steps: [Run(10), SimStep.SetPriority(10), Run(100, every: 5)]),
            Task("A", 45, cpu: 0, spawn: 1, affinity: "0,1", steps: [Run(5)]),
            Task("B", 30, cpu: 0, spawn: 2, affinity: "0,2", steps: [Run(5)])));

        string[] lines = Lines(r);
        Assert.Contains("10 cpu0->cpu2 B Push", lines);
        Assert.Contains("15 cpu2 B SwitchIn", lines);
    }
}
