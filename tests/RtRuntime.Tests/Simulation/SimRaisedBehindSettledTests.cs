using RtRuntime;
using RtRuntime.Simulation;
using static RtRuntime.Tests.Simulation.SimBuild;

namespace RtRuntime.Tests.Simulation;

/// <summary>
/// The N-highest invariant's settledness (<c>SimEngine.IsSettled</c>) does not count a raised-behind switch
/// (<see cref="SimCpu.RunsBehindQueued"/>) as pending: that switch swaps two tasks of one priority, so it
/// changes no priority the check compares, and a task queued ahead of the raised runner that could run
/// lower elsewhere is pushed there by the raise itself (the balance callback of the priority change),
/// so the check never sees it wait.
/// </summary>
public class SimRaisedBehindSettledTests
{
    [Fact]
    public void Run_ARunnerRaisedBehindAMovableQueuedTask_TheRaisePushesThatTask()
    {
        // CPU0: R (10) runs preempt-disabled; A (40, allowed on both CPUs) wakes there at 5 (CPU1 runs
        // X at 50). X exits at 10 and CPU1 runs L (20, no points): its pull leaves A (A outranks R,
        // which runs on A's CPU: the switch is due there). R raises itself to 40 at 30, behind A: the
        // raise pushes A to CPU1, where it preempts L at L's end (cooperative).
        SimResult r = RunClean(Scenario(2, BalancePolicy.WorkConserving,
            Task("R", 10, cpu: 0, steps: [PD, Run(30), SimStep.SetPriority(40), Run(10), PE, Run(10)]),
            Task("X", 50, cpu: 1, affinity: "1", steps: [Run(10)]),
            Task("L", 20, cpu: 1, affinity: "1", steps: [Run(200)]),
            Task("A", 40, cpu: 0, spawn: 5, steps: [Run(10)])));

        string[] lines = Lines(r);
        Assert.Contains("30 cpu0->cpu1 A Push", lines);
        Assert.Contains("210 cpu1 A SwitchIn", lines);
    }
}
