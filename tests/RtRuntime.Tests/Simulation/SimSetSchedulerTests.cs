using RtRuntime;
using RtRuntime.Simulation;
using RtRuntime.Tasks;
using static RtRuntime.Tests.Simulation.SimBuild;

namespace RtRuntime.Tests.Simulation;

/// <summary>
/// One task setting another's priority (the <c>setPriority</c> step with a task, as the threaded
/// <c>RtScheduler.SetPriority(task, priority)</c>) or policy and priority (<c>setScheduler</c>, as
/// <c>RtScheduler.SetScheduler</c>; a task made round-robin starts a full slice): a queued target is requeued at once (at the head
/// when lowered, at the tail when raised) and preempts its CPU's runner when it now outranks it; a
/// waiting target moves among the waiters at once; a sleeping one wakes at the new priority; a target
/// running on another CPU takes it at its next preemption point (preemptible), as the threaded
/// runtime's step-end hook applies it.
/// </summary>
public class SimSetSchedulerTests
{
    private static SimStep Prio(string task, int priority) => SimStep.SetPriority(task, priority);

    [Fact]
    public void Run_RaisingAQueuedTaskAboveTheRunner_PreemptsItAtTheRunnersNextPoint()
    {
        // CPU0 runs T (50) with U (40) queued; C on CPU1 raises U to 60 at 12 µs: U runs at T's point at 15.
        SimResult r = RunClean(Scenario(2, BalancePolicy.WorkConserving,
            Task("T", 50, cpu: 0, affinity: "0", steps: [Run(30, every: 5)]),
            Task("U", 40, cpu: 0, spawn: 1, affinity: "0", steps: [Run(5)]),
            Task("C", 70, cpu: 1, spawn: 12, affinity: "1", steps: [Prio("U", 60)])));

        string[] lines = Lines(r);
        Assert.Contains("15 cpu0 T Preempt", lines);
        Assert.Contains("15 cpu0 U SwitchIn", lines);
    }

    [Fact]
    public void Run_AQueuedTaskLowered_GoesToTheHeadOfItsNewPriority_RaisedToTheTail()
    {
        // Queued on CPU0 behind T: D (45), A (40), B (40), Y (35), X (30). C on CPU1 lowers D to 35 (the
        // head of 35: before Y) and raises X to 40 (the tail of 40: after B); T's exit then runs them in
        // that order.
        SimResult r = RunClean(Scenario(2, BalancePolicy.WorkConserving,
            Task("T", 90, cpu: 0, affinity: "0", steps: [Run(20)]),
            Task("A", 40, cpu: 0, spawn: 1, affinity: "0", steps: [Run(5)]),
            Task("B", 40, cpu: 0, spawn: 2, affinity: "0", steps: [Run(5)]),
            Task("D", 45, cpu: 0, spawn: 3, affinity: "0", steps: [Run(5)]),
            Task("X", 30, cpu: 0, spawn: 4, affinity: "0", steps: [Run(5)]),
            Task("Y", 35, cpu: 0, spawn: 5, affinity: "0", steps: [Run(5)]),
            Task("C", 70, cpu: 1, spawn: 10, affinity: "1", steps: [Prio("D", 35), Prio("X", 40)])));

        string[] switchIns = [.. Lines(r).Where(l => l.EndsWith("SwitchIn", StringComparison.Ordinal) && l.Contains("cpu0", StringComparison.Ordinal) && !l.Contains(" T ", StringComparison.Ordinal))];
        Assert.Equal(["20 cpu0 A SwitchIn", "25 cpu0 B SwitchIn", "30 cpu0 X SwitchIn", "35 cpu0 D SwitchIn", "40 cpu0 Y SwitchIn"], switchIns);
    }

    [Fact]
    public void Run_RaisingAWaiter_MovesItAheadOfTheWaitersItNowOutranks()
    {
        // W2 (50), W1 (40) and W3 (30) wait on e; C raises W3 to 60 and signals once per 5 µs: each woken
        // waiter preempts C (10) at C's next point, so the switch-ins give the order of the wakeups.
        SimResult r = RunClean(Scenario(1, BalancePolicy.WorkConserving,
            Task("W1", 40, cpu: 0, spawn: 0, steps: [SimStep.Wait("e"), Run(1)]),
            Task("W2", 50, cpu: 0, spawn: 1, steps: [SimStep.Wait("e"), Run(1)]),
            Task("W3", 30, cpu: 0, spawn: 2, steps: [SimStep.Wait("e"), Run(1)]),
            Task("C", 10, cpu: 0, spawn: 5, steps: [Prio("W3", 60), SimStep.Signal("e"), Run(5), SimStep.Signal("e"), Run(5), SimStep.Signal("e"), Run(5)])));

        string[] woken = [.. Lines(r).Where(l => l.Contains(" W", StringComparison.Ordinal) && l.EndsWith("SwitchIn", StringComparison.Ordinal)).Skip(3)];
        Assert.Equal(["10 cpu0 W3 SwitchIn", "16 cpu0 W2 SwitchIn", "22 cpu0 W1 SwitchIn"], woken);
    }

    [Fact]
    public void Run_RaisingASleepingTask_WakesItAtTheNewPriority()
    {
        // T (30) sleeps until 22; L (50) runs from 5 with a point every 5 µs; C (90) raises T to 60 at 15
        // (L's point after C's wakeup at 11). L then spins at its point at 20 for T's deadline (timer
        // anticipation, for a sleeper above it), and T preempts it at 22; at 30 it would wait behind L.
        SimResult r = RunClean(Scenario(1, BalancePolicy.WorkConserving,
            Task("T", 30, cpu: 0, steps: [Sleep(22), Run(5)]),
            Task("L", 50, cpu: 0, spawn: 5, steps: [Run(40, every: 5)]),
            Task("C", 90, cpu: 0, spawn: 11, steps: [Prio("T", 60)])));

        string[] lines = Lines(r);
        Assert.Contains("22 cpu0 L Preempt", lines);
        Assert.Contains("22 cpu0 T SwitchIn", lines);
    }

    [Theory]
    [InlineData(false, 10)] // preemptible: at its next point
    [InlineData(true, 15)] // preempt-disabled until 15: at its preempt_enable
    public void Run_LoweringATaskRunningOnAnotherCpu_TakesEffectAtItsNextPreemptionPoint(bool preemptDisabled, int switchUs)
    {
        // CPU0 runs T (50), U (40) queued behind it; C on CPU1 lowers T to 20 at 3 µs.
        SimStep[] steps = preemptDisabled ? [PD, Run(15, every: 5), PE, Run(15, every: 5)] : [Run(30, every: 10)];
        SimResult r = RunClean(Scenario(2, BalancePolicy.WorkConserving,
            Task("T", 50, cpu: 0, affinity: "0", steps: steps),
            Task("U", 40, cpu: 0, spawn: 1, affinity: "0", steps: [Run(5)]),
            Task("C", 60, cpu: 1, spawn: 3, affinity: "1", steps: [Prio("T", 20)])));

        string[] lines = Lines(r);
        Assert.Contains($"{switchUs} cpu0 T Preempt", lines);
        Assert.Contains($"{switchUs} cpu0 U SwitchIn", lines);
    }

    [Fact]
    public void Run_DemotingATaskRunningOnAnotherCpuToNormal_LetsALowerRtTaskRunAtItsNextPoint()
    {
        // CPU0 runs T (50), U (10) queued behind it; C on CPU1 makes T a Normal task at 3 µs.
        SimResult r = RunClean(Scenario(2, BalancePolicy.WorkConserving,
            Task("T", 50, cpu: 0, affinity: "0", steps: [Run(30, every: 10)]),
            Task("U", 10, cpu: 0, spawn: 1, affinity: "0", steps: [Run(5)]),
            Task("C", 60, cpu: 1, spawn: 3, affinity: "1", steps: [SimStep.SetScheduler("T", SchedPolicy.Normal, 0)])));

        string[] lines = Lines(r);
        Assert.Contains("10 cpu0 T Preempt", lines);
        Assert.Contains("10 cpu0 U SwitchIn", lines);
    }

    [Fact]
    public void Run_ARunningFifoTaskMadeRoundRobin_RotatesWithAnEqualRoundRobinTaskAfterAFullSlice()
    {
        // T (FIFO 40) runs from 0 with U (RR 40) queued; at 45 µs T makes itself round-robin: its slice
        // (30 µs) starts then, so it rotates at its point at 75 µs, not at 50 (a slice counted from 0).
        SimScenario s = Scenario(1, BalancePolicy.WorkConserving,
            Task("T", 40, cpu: 0, steps: [Run(45, every: 5), SimStep.SetScheduler(SchedPolicy.RoundRobin, 40), Run(60, every: 5)]),
            new SimTaskSpec { Name = "U", Priority = 40, Policy = SchedPolicy.RoundRobin, WakeCpu = 0, SpawnUs = 1, Steps = [Run(5)] });
        SimResult r = RunClean(new SimScenario { Cpus = s.Cpus, Policy = s.Policy, TickUs = 0, RoundRobinSliceUs = 30, Tasks = s.Tasks });

        string[] lines = Lines(r);
        Assert.Contains("75 cpu0 T Preempt", lines);
        Assert.Contains("75 cpu0 U SwitchIn", lines);
        Assert.DoesNotContain("50 cpu0 T Preempt", lines);
    }

    [Fact]
    public void Run_ASetPriorityForATaskMadeNormal_IsReportedAndIgnored()
    {
        // T (50) makes itself Normal, then sets its own priority: refused (the threaded runtime throws).
        SimResult r = Simulator.Run(Scenario(1, BalancePolicy.WorkConserving,
            Task("T", 50, cpu: 0, steps: [SimStep.SetScheduler(SchedPolicy.Normal, 0), SimStep.SetPriority(70), Run(5)])), 0, new SimOptions());

        Assert.Empty(r.Violations);
        Assert.Contains(r.Bugs, b => b.Contains("sched_setparam(T, 70) refused", StringComparison.Ordinal));
    }

    [Fact]
    public void Run_APolicyChangeAlone_KeepsAQueuedTasksPlace_AndADemotionToNormalGoesToTheTailOfTheNormalClass()
    {
        // Behind T (90): A, B (FIFO 10), N (Normal), X (FIFO 20); C on CPU1 makes A round-robin at 10 (no
        // requeue) and X Normal (behind N).
        SimResult r = RunClean(Scenario(2, BalancePolicy.WorkConserving,
            Task("T", 90, cpu: 0, affinity: "0", steps: [Run(20)]),
            Task("A", 10, cpu: 0, spawn: 1, affinity: "0", steps: [Run(5)]),
            Task("B", 10, cpu: 0, spawn: 2, affinity: "0", steps: [Run(5)]),
            Task("N", 0, cpu: 0, spawn: 3, affinity: "0", steps: [Run(5)]),
            Task("X", 20, cpu: 0, spawn: 4, affinity: "0", steps: [Run(5)]),
            Task("C", 70, cpu: 1, spawn: 10, affinity: "1", steps: [SimStep.SetScheduler("A", SchedPolicy.RoundRobin, 10), SimStep.SetScheduler("X", SchedPolicy.Normal, 0)])));

        string[] switchIns = [.. Lines(r).Where(l => l.EndsWith("SwitchIn", StringComparison.Ordinal) && l.Contains("cpu0", StringComparison.Ordinal) && !l.Contains(" T ", StringComparison.Ordinal))];
        Assert.Equal(["20 cpu0 A SwitchIn", "25 cpu0 B SwitchIn", "30 cpu0 N SwitchIn", "35 cpu0 X SwitchIn"], switchIns);
    }

    [Fact]
    public void Run_AnOwnSetPriority_AfterAnotherTasksSetSchedulerNotYetTaken_ComesAfterIt()
    {
        // T runs preempt-disabled (its points do nothing) when C makes it RR 40 at 3 µs; at 10 T sets its
        // own priority to 60 before any point: the request is taken first, so T ends RR 60 and rotates
        // with U (RR 60) at its first point after a full slice.
        SimScenario s = Scenario(2, BalancePolicy.WorkConserving,
            Task("T", 50, cpu: 0, affinity: "0", steps: [PD, Run(10), SimStep.SetPriority(60), PE, Run(100, every: 5)]),
            new SimTaskSpec { Name = "U", Priority = 60, Policy = SchedPolicy.RoundRobin, WakeCpu = 0, SpawnUs = 12, Affinity = Cpus.CpuSet.Of(0), Steps = [Run(5)] },
            Task("C", 70, cpu: 1, spawn: 3, affinity: "1", steps: [SimStep.SetScheduler("T", SchedPolicy.RoundRobin, 40)]));
        SimResult r = RunClean(new SimScenario { Cpus = s.Cpus, Policy = s.Policy, TickUs = 0, RoundRobinSliceUs = 30, Tasks = s.Tasks });

        string[] lines = Lines(r);
        Assert.Contains("40 cpu0 T Preempt", lines); // RR 60 from 10: its slice ends at 40
        Assert.Contains("40 cpu0 U SwitchIn", lines);
    }

    [Theory]
    [InlineData("Nobody", 50, "$.tasks[0].steps[0].task", "no task is named 'Nobody'")]
    [InlineData("N", 50, "$.tasks[0].steps[0].setPriority", "task 'N' is a Normal task")]
    [InlineData("U", 0, "$.tasks[0].steps[0].setPriority", "must be 1..99, got 0")]
    public void Validate_ABadTarget_IsRefusedNamingTheStep(string target, int priority, string path, string message)
    {
        SimScenario s = Scenario(1, BalancePolicy.WorkConserving,
            Task("T", 50, steps: [Prio(target, priority)]),
            Task("U", 40, steps: [Run(5)]),
            Task("N", 0, steps: [Run(5)]));

        var e = Assert.Throws<SimScenarioException>(() => Simulator.Run(s, 0, new SimOptions()));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Normal", 5, "$.tasks[0].steps[0].priority", "must be 0 for policy Normal, got 5")]
    [InlineData("RoundRobin", 0, "$.tasks[0].steps[0].priority", "must be 1..99 for policy RoundRobin, got 0")]
    public void Validate_ASetSchedulerStepWithAPriorityItsPolicyRefuses_IsRefusedNamingIt(string policy, int priority, string path, string message)
    {
        SimScenario s = Scenario(1, BalancePolicy.WorkConserving, Task("T", 50, steps: [SimStep.SetScheduler(Enum.Parse<SchedPolicy>(policy), priority)]));

        var e = Assert.Throws<SimScenarioException>(() => Simulator.Run(s, 0, new SimOptions()));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_ASetSchedulerStep_IsParsed()
    {
        SimScenario s = SimScenario.FromJson("""{"cpus": 1, "tasks": [{"name": "T", "priority": 50, "steps": [{"setScheduler": "RoundRobin", "priority": 30, "task": "U"}]}, {"name": "U", "priority": 40}]}""");

        SimStep step = Assert.Single(s.Tasks[0].Steps);
        Assert.Equal((SimStepKind.SetScheduler, SchedPolicy.RoundRobin, 30, "U"), (step.Kind, step.Policy, step.Count, step.Target));
    }

    [Fact]
    public void Read_ASetPriorityStepWithATask_IsParsed_AndTaskOnAnotherStepIsRefused()
    {
        SimScenario s = SimScenario.FromJson("""{"cpus": 1, "tasks": [{"name": "T", "priority": 50, "steps": [{"setPriority": 30, "task": "U"}]}, {"name": "U", "priority": 40}]}""");

        SimStep step = Assert.Single(s.Tasks[0].Steps);
        Assert.Equal((SimStepKind.SetPriority, 30, "U"), (step.Kind, step.Count, step.Target));
        var e = Assert.Throws<SimScenarioException>(() => SimScenario.FromJson("""{"cpus": 1, "tasks": [{"name": "T", "priority": 50, "steps": [{"run": 5, "task": "U"}]}]}"""));
        Assert.Contains("does not take task", e.Message, StringComparison.Ordinal);
    }
}
