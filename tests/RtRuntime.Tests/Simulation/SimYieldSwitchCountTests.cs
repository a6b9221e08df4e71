using RtRuntime;
using RtRuntime.Simulation;
using static RtRuntime.Tests.Simulation.SimBuild;

namespace RtRuntime.Tests.Simulation;

/// <summary>
/// The simulator counts switches as __schedule does (only <c>prev != next</c>) and as the threaded
/// dispatcher does (<see cref="Core.YieldSwitchCountTests"/>): a yield that picks the same task again
/// is not one.
/// </summary>
public class SimYieldSwitchCountTests
{
    [Fact]
    public void Run_YieldAloneOnItsCpu_CountsOneSwitch()
    {
        SimResult r = RunClean(Scenario(1, BalancePolicy.WorkConserving,
            Task("T", 10, cpu: 0, steps: [Run(5), SimStep.Yield(), Run(5), SimStep.Yield(), SimStep.Yield(), Run(5)])));

        Assert.Equal(1, r.Cpus[0].Switches);
        Assert.Equal(15, r.Task("T").ExitUs);
    }

    [Fact]
    public void Run_YieldToAnEqualPeer_CountsEverySwitch()
    {
        SimResult r = RunClean(Scenario(1, BalancePolicy.WorkConserving,
            Task("A", 10, cpu: 0, steps: [Run(5), SimStep.Yield(), Run(5)]),
            Task("B", 10, cpu: 0, steps: [Run(5), SimStep.Yield(), Run(5)])));

        // A, B, A (ends), B (ends).
        Assert.Equal(4, r.Cpus[0].Switches);
    }

    [Fact]
    public void Run_AfterIdle_TheSameTaskIsSwitchedInAgain()
    {
        // The CPU idles while T sleeps: its wakeup is a switch from the idle task.
        SimResult r = RunClean(Scenario(1, BalancePolicy.WorkConserving,
            Task("T", 10, cpu: 0, steps: [Run(5), Sleep(10), Run(5)])));

        Assert.Equal(2, r.Cpus[0].Switches);
    }
}
