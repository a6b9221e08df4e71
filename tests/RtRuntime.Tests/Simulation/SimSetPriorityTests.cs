using RtRuntime;
using RtRuntime.Simulation;
using static RtRuntime.Tests.Simulation.SimBuild;

namespace RtRuntime.Tests.Simulation;

/// <summary>
/// A task setting its own priority (the <c>setPriority</c> step, as <c>TaskContext.SetPriority</c>): a
/// drop below a queued task switches at the task's next preemption point, a drop brings a task waiting
/// on another CPU (the re-push the threaded runtime's PriorityChanged pass makes), a raise keeps a later
/// wakeup off the CPU, and a Normal task's script or a priority outside 1..99 is refused.
/// </summary>
public class SimSetPriorityTests
{
    [Fact]
    public void Run_ADropBelowAQueuedTask_SwitchesAtTheNextPoint()
    {
        SimResult r = RunClean(Scenario(1, BalancePolicy.WorkConserving,
            Task("T", 50, cpu: 0, steps: [Run(10), SimStep.SetPriority(30), Run(20, every: 5)]),
            Task("U", 40, cpu: 0, spawn: 2, steps: [Run(10)])));

        Assert.Equal(
        [
            "0 cpu0 T Spawn", "0 cpu0 T SwitchIn", "2 cpu0 U Spawn",
            "15 cpu0 T Preempt", "15 cpu0 U SwitchIn", "25 cpu0 U Exit", "25 cpu0 T SwitchIn", "40 cpu0 T Exit",
        ], Lines(r));
    }

    [Fact]
    public void Run_ADropBringsATaskWaitingOnAnotherCpu()
    {
        // CPU1 runs H (90) with M (40) queued behind it; CPU0 runs T (50), which drops to 10 at 10 µs.
        SimResult r = RunClean(Scenario(2, BalancePolicy.WorkConserving,
            Task("H", 90, cpu: 1, affinity: "1", steps: [Run(100)]),
            Task("T", 50, cpu: 0, affinity: "0", steps: [Run(10), SimStep.SetPriority(10), Run(30, every: 5)]),
            Task("M", 40, cpu: 1, spawn: 1, steps: [Run(20)])));

        string[] lines = Lines(r);
        Assert.Contains("10 cpu1->cpu0 M Push", lines);
        Assert.Contains("15 cpu0 T Preempt", lines);
        Assert.Contains("15 cpu0 M SwitchIn", lines);
    }

    [Fact]
    public void Run_ARaise_KeepsALaterWakeupOffTheCpu()
    {
        SimResult r = RunClean(Scenario(1, BalancePolicy.WorkConserving,
            Task("T", 20, cpu: 0, steps: [SimStep.SetPriority(60), Run(30, every: 5)]),
            Task("U", 40, cpu: 0, spawn: 2, steps: [Run(10)])));

        Assert.Equal(["0 cpu0 T Spawn", "0 cpu0 T SwitchIn", "2 cpu0 U Spawn", "30 cpu0 T Exit", "30 cpu0 U SwitchIn", "40 cpu0 U Exit"], Lines(r));
    }

    [Fact]
    public void Run_ARaiseAboveATaskQueuedToPreemptIt_PushesThatTaskToALowerCpu()
    {
        // CPU1 runs L (30); T (20) runs preempt-disabled on CPU0 when U (40) wakes there at 2 µs; T raises
        // itself to 50 at 5 µs, still preempt-disabled: U is pushed to CPU1 and preempts L there.
        SimResult r = RunClean(Scenario(2, BalancePolicy.WorkConserving,
            Task("L", 30, cpu: 1, affinity: "1", steps: [Run(50, every: 5)]),
            Task("T", 20, cpu: 0, affinity: "0", steps: [PD, Run(5), SimStep.SetPriority(50), Run(10), PE, Run(10)]),
            Task("U", 40, cpu: 0, spawn: 2, steps: [Run(10)])));

        string[] lines = Lines(r);
        Assert.Contains("5 cpu0->cpu1 U Push", lines);
        Assert.Contains("10 cpu1 U SwitchIn", lines);
        Assert.DoesNotContain(lines, l => l.Contains("cpu0 U SwitchIn", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(0, 0, "a Normal task has no RT priority to set")]
    [InlineData(50, 0, "must be 1..99, got 0")]
    [InlineData(50, 100, "must be 1..99, got 100")]
    public void Validate_ASetPriorityStepANormalTaskOrOutOfRange_IsRefusedNamingTheStep(int taskPrio, int newPrio, string message)
    {
        SimScenario s = Scenario(1, BalancePolicy.WorkConserving, Task("T", taskPrio, steps: [Run(10), SimStep.SetPriority(newPrio)]));

        var e = Assert.Throws<SimScenarioException>(() => Simulator.Run(s, 0, new SimOptions()));
        Assert.Contains("$.tasks[0].steps[1].setPriority", e.Message, StringComparison.Ordinal);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_ASetPriorityStep_IsParsed()
    {
        SimScenario s = SimScenario.FromJson("""{"cpus": 1, "tasks": [{"name": "T", "priority": 50, "steps": [{"setPriority": 30}]}]}""");

        SimStep step = Assert.Single(s.Tasks[0].Steps);
        Assert.Equal((SimStepKind.SetPriority, 30), (step.Kind, step.Count));
    }
}
