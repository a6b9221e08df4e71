using RtRuntime;
using RtRuntime.Simulation;
using static RtRuntime.Tests.Simulation.SimBuild;

namespace RtRuntime.Tests.Simulation;

/// <summary>
/// A preempted task picked again before any other task ran on its CPU was not preempted: __schedule
/// counts <c>nivcsw</c> only when <c>prev != next</c> (the threaded runtime's
/// <see cref="Balancing.RepickedPreemptionTests"/>).
/// </summary>
public class SimRepickedPreemptionTests
{
    // P(10) runs pinned on CPU0 (a point every 30 µs) while X(5) runs on CPU1. H(55) wakes on CPU0 (the
    // lowest CPU) at 5. At P's point (30) H preempts it and is pushed on sight to CPU1 (X is below it and
    // below P, as a repair's target must be) before it runs, so CPU0 picks P again: no switch there, and
    // no preemption of P. X is preempted.
    [Fact]
    public void Run_PinnedTaskWhosePreempterIsPushedAwayOnSight_CountsNoPreemption()
    {
        SimResult r = RunClean(new SimScenario
        {
            Cpus = 2,
            Policy = BalancePolicy.WorkConserving,
            TickUs = 0,
            AnticipateTimersUs = 0,
            Tasks =
            [
                Task("P", 10, cpu: 0, steps: [MD, Run(300, every: 30), ME]),
                Task("X", 5, cpu: 1, affinity: "1", steps: [Run(500, every: 10)]),
                Task("H", 55, cpu: 0, spawn: 5, steps: [Run(100)]),
            ],
        });

        Assert.Contains("30 cpu0 P Preempt", Lines(r)); // the switch-out was attempted at that point
        Assert.Equal(1, r.Task("H").LastCpu);
        Assert.Equal(0, r.Task("P").Preemptions);
        Assert.Equal(1, r.Task("X").Preemptions);
        Assert.Equal(1, r.Cpus[0].Switches); // P's first switch-in only
    }
}
