using RtRuntime;
using RtRuntime.Simulation;
using static RtRuntime.Tests.Simulation.SimBuild;

namespace RtRuntime.Tests.Simulation;

/// <summary>
/// RtMutexes in the simulator (the <c>lock</c> and <c>unlock</c> steps, as the threaded <c>RtMutex</c>):
/// priority inheritance bounds an inversion, reaches an owner running on another CPU at its next
/// point, walks a chain of owners, hands over in priority order, boosts a Normal owner into the RT
/// class, follows a waiter's new priority; a deadlock, a wrong unlock and an exit while holding are
/// reported; and the invariant checker catches a boost that never came.
/// </summary>
public class SimRtMutexTests
{
    private static readonly SimStep PP = SimStep.PreemptionPoint();

    private static SimStep Lock(string m) => SimStep.Lock(m);

    private static SimStep Unlock(string m) => SimStep.Unlock(m);

    [Fact]
    public void Run_ALowOwnerPreemptedByAMiddleTask_RunsAtTheWaitersPriorityUntilItUnlocks()
    {
        // One CPU: L (10) holds m; H (90) waits for it at 20 µs; M (50) arrives at 25 µs and would run
        // 500 µs. L finishes its section first, at H's priority, and M waits for both.
        SimResult r = RunClean(Scenario(1, BalancePolicy.WorkConserving,
            Task("L", 10, cpu: 0, steps: [Lock("m"), Run(100, every: 10), Unlock("m"), PP, Run(10)]),
            Task("H", 90, cpu: 0, spawn: 20, steps: [Lock("m"), Run(10), Unlock("m")]),
            Task("M", 50, cpu: 0, spawn: 25, steps: [Run(500, every: 10)])));

        Assert.Equal(
        [
            "0 cpu0 L Spawn", "0 cpu0 L SwitchIn", "20 cpu0 H Spawn", "20 cpu0 L Preempt", "20 cpu0 H SwitchIn",
            "20 cpu0 L PiSetPrio 90", "20 cpu0 H Block", "20 cpu0 L SwitchIn", "25 cpu0 M Spawn",
            "100 cpu0 H Wakeup", "100 cpu0 L PiSetPrio 10", "100 cpu0 L Preempt", "100 cpu0 H SwitchIn", "110 cpu0 H Exit",
            "110 cpu0 M SwitchIn", "610 cpu0 M Exit", "610 cpu0 L SwitchIn", "620 cpu0 L Exit",
        ], Lines(r));
        Assert.Equal(80, r.Tasks.Single(t => t.Name == "H").LockWaitUs);
        Assert.Equal(80, r.Tasks.Single(t => t.Name == "L").BoostedUs);
        Assert.Equal(0, r.Tasks.Single(t => t.Name == "M").BoostedUs);
    }

    [Fact]
    public void Run_AnOwnerRunningOnAnotherCpu_TakesTheBoostAtItsNextPoint()
    {
        // L (10) runs m's section on CPU1 with a point every 10 µs; H (90) waits for m on CPU0 at 25 µs;
        // M (50) wakes on CPU1 at 35 µs and stays queued behind the boosted L until L unlocks.
        SimResult r = RunClean(Scenario(2, BalancePolicy.WorkConserving,
            Task("L", 10, cpu: 1, affinity: "1", steps: [Lock("m"), Run(100, every: 10), Unlock("m"), PP, Run(10)]),
            Task("H", 90, cpu: 0, spawn: 25, affinity: "0", steps: [Lock("m"), Run(10), Unlock("m")]),
            Task("M", 50, cpu: 1, spawn: 35, affinity: "1", steps: [Run(200, every: 10)])));

        Assert.Equal(
        [
            "0 cpu1 L Spawn", "0 cpu1 L SwitchIn", "25 cpu0 H Spawn", "25 cpu0 H SwitchIn", "25 cpu0 H Block",
            "30 cpu1 L PiSetPrio 90", "35 cpu1 M Spawn",
            "100 cpu0 H Wakeup", "100 cpu1 L PiSetPrio 10", "100 cpu1 L Preempt", "100 cpu1 M SwitchIn", "100 cpu0 H SwitchIn",
            "110 cpu0 H Exit", "300 cpu1 M Exit", "300 cpu1 L SwitchIn", "310 cpu1 L Exit",
        ], Lines(r));
    }

    [Fact]
    public void Run_AChainOfOwners_LendsTheTopWaitersPriorityToTheLastOwner()
    {
        // L holds m1; B (30) holds m2 and waits for m1; X (50) preempts L; H (90) waits for m2 at 30 µs:
        // B moves up among m1's waiters and L, queued behind X, runs at 90.
        SimResult r = RunClean(Scenario(1, BalancePolicy.WorkConserving,
            Task("L", 10, cpu: 0, steps: [Lock("m1"), Run(100, every: 10), Unlock("m1"), PP, Run(5)]),
            Task("B", 30, cpu: 0, spawn: 5, steps: [Lock("m2"), Lock("m1"), Run(10), Unlock("m1"), Unlock("m2")]),
            Task("X", 50, cpu: 0, spawn: 15, steps: [Run(300, every: 10)]),
            Task("H", 90, cpu: 0, spawn: 25, steps: [Lock("m2"), Run(10), Unlock("m2")])));

        string[] lines = Lines(r);
        Assert.Equal(
        [
            "30 cpu0 X Preempt", "30 cpu0 H SwitchIn", "30 cpu0 B PiSetPrio 90", "30 cpu0 L PiSetPrio 90", "30 cpu0 H Block", "30 cpu0 L SwitchIn",
            "110 cpu0 B Wakeup", "110 cpu0 L PiSetPrio 10", "110 cpu0 L Preempt", "110 cpu0 B SwitchIn",
            "120 cpu0 H Wakeup", "120 cpu0 B PiSetPrio 30", "120 cpu0 B Exit", "120 cpu0 H SwitchIn", "130 cpu0 H Exit", "130 cpu0 X SwitchIn",
        ], lines.SkipWhile(l => l != "30 cpu0 X Preempt").Take(16));
    }

    [Fact]
    public void Run_Waiters_GetTheMutexInPriorityOrder()
    {
        SimResult r = RunClean(Scenario(1, BalancePolicy.WorkConserving,
            Task("L", 10, cpu: 0, steps: [Lock("m"), Run(50, every: 10), Unlock("m"), PP]),
            Task("A", 40, cpu: 0, spawn: 5, steps: [Lock("m"), Run(10), Unlock("m")]),
            Task("B", 60, cpu: 0, spawn: 15, steps: [Lock("m"), Run(10), Unlock("m")])));

        string[] lines = Lines(r);
        Assert.Contains("10 cpu0 L PiSetPrio 40", lines);
        Assert.Contains("20 cpu0 L PiSetPrio 60", lines);
        Assert.Equal(["50 cpu0 B Wakeup", "50 cpu0 L PiSetPrio 10", "50 cpu0 L Preempt", "50 cpu0 B SwitchIn", "60 cpu0 A Wakeup", "60 cpu0 B Exit", "60 cpu0 A SwitchIn", "70 cpu0 A Exit"],
            lines.SkipWhile(l => l != "50 cpu0 B Wakeup").Take(8));
    }

    [Fact]
    public void Run_ANormalOwner_JoinsTheRtClassWhileAnRtTaskWaits()
    {
        SimResult r = RunClean(Scenario(1, BalancePolicy.WorkConserving,
            Task("N", 0, cpu: 0, steps: [Lock("m"), Run(50, every: 10), Unlock("m"), PP, Run(5)]),
            Task("H", 90, cpu: 0, spawn: 5, steps: [Lock("m"), Run(10), Unlock("m")]),
            Task("M", 50, cpu: 0, spawn: 7, steps: [Run(100, every: 10)])));

        string[] lines = Lines(r);
        Assert.Contains("10 cpu0 N PiSetPrio 90", lines);
        Assert.Contains("50 cpu0 N PiSetPrio 0", lines);
        Assert.Equal(["60 cpu0 H Exit", "60 cpu0 M SwitchIn", "160 cpu0 M Exit", "160 cpu0 N SwitchIn", "165 cpu0 N Exit"], lines[^5..]);
    }

    [Fact]
    public void Run_AWaitersNewPriority_ReachesTheOwner()
    {
        // W (20) waits for m, held by A (10), which M (50) then preempts; C on CPU1 raises W to 80 at 30 µs:
        // A, queued behind M, now runs at 80.
        SimResult r = RunClean(Scenario(2, BalancePolicy.WorkConserving,
            Task("A", 10, cpu: 0, affinity: "0", steps: [Lock("m"), Run(100, every: 10), Unlock("m"), PP]),
            Task("W", 20, cpu: 0, spawn: 5, affinity: "0", steps: [Lock("m"), Run(10), Unlock("m")]),
            Task("M", 50, cpu: 0, spawn: 15, affinity: "0", steps: [Run(200, every: 10)]),
            Task("C", 95, cpu: 1, spawn: 30, affinity: "1", steps: [SimStep.SetPriority("W", 80), Run(5)])));

        string[] lines = Lines(r);
        Assert.Contains("10 cpu0 A PiSetPrio 20", lines);
        Assert.Contains("20 cpu0 M SwitchIn", lines);
        Assert.Contains("30 cpu0 A PiSetPrio 80", lines);
        Assert.Contains("30 cpu0 M Preempt", lines);
        Assert.Contains("30 cpu0 A SwitchIn", lines);
    }

    [Fact]
    public void Run_AWaitClosingACycle_IsReportedAndIgnored()
    {
        SimResult r = RunClean(Scenario(2, BalancePolicy.WorkConserving,
            Task("A", 50, cpu: 0, affinity: "0", steps: [Lock("m1"), Run(20), Lock("m2"), Run(5), Unlock("m2"), Unlock("m1")]),
            Task("B", 50, cpu: 1, affinity: "1", steps: [Lock("m2"), Run(40), Lock("m1"), Run(5), Unlock("m1"), Unlock("m2")])));

        Assert.Equal(
        [
            "40us B: BUG: circular locking deadlock detected: B/1 would wait for m1 held by A, waiting for m2 held by B; the lock is ignored",
            "45us B: B unlocked m1, which A holds; ignored",
        ], r.Bugs);
        Assert.Empty(r.StuckTasks);
        Assert.Contains("45 cpu0 A Wakeup", Lines(r));
    }

    [Fact]
    public void Run_ARecursiveLock_IsReportedAndIgnored()
    {
        SimResult r = RunClean(Scenario(1, BalancePolicy.WorkConserving,
            Task("A", 50, steps: [Lock("m"), Lock("m"), Run(5), Unlock("m")])));

        Assert.Equal(["0us A: A already holds m: an RtMutex is not recursive; the lock is ignored"], r.Bugs);
        Assert.Empty(r.StuckTasks);
    }

    [Fact]
    public void Run_AnOwnerThatExits_IsReportedAndTheMutexPassesOn()
    {
        SimResult r = RunClean(Scenario(1, BalancePolicy.WorkConserving,
            Task("L", 10, cpu: 0, steps: [Lock("m"), Run(30, every: 10)]),
            Task("H", 90, cpu: 0, spawn: 5, steps: [Lock("m"), Run(10), Unlock("m")])));

        Assert.Equal(["30us L: exited holding m; released"], r.Bugs);
        Assert.Equal(["30 cpu0 L Bug", "30 cpu0 H Wakeup", "30 cpu0 L Exit", "30 cpu0 H SwitchIn", "40 cpu0 H Exit"], Lines(r)[^5..]);
    }

    [Fact]
    public void Run_ABoostThatNeverCame_IsCaughtByTheInvariant()
    {
        SimScenario s = Scenario(1, BalancePolicy.WorkConserving,
            Task("L", 10, cpu: 0, steps: [Lock("m"), Run(100, every: 10), Unlock("m")]),
            Task("H", 90, cpu: 0, spawn: 20, steps: [Lock("m"), Run(10), Unlock("m")]));

        SimResult r = Simulator.Run(s, 0, new SimOptions { InjectFault = SimFault.NoPriorityInheritance });

        SimViolation v = Assert.Single(r.Violations.Take(1));
        Assert.Equal(SimViolationKind.PriorityNotInherited, v.Kind);
        Assert.Contains("L(10) holds m while H(90) waits for it", v.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_LockAndUnlockSteps_ReadFromJson()
    {
        SimScenario s = SimScenario.FromJson("""
            {"cpus": 1, "tasks": [
              {"name": "L", "priority": 10, "steps": [{"lock": "m"}, {"run": 100, "everyUs": 10}, {"unlock": "m"}]},
              {"name": "H", "priority": 90, "spawnUs": 20, "steps": [{"lock": "m"}, {"run": 10}, {"unlock": "m"}]}
            ]}
            """);

        Assert.Equal("lock m", s.Tasks[0].Steps[0].ToString());
        Assert.Equal("unlock m", s.Tasks[0].Steps[2].ToString());
        Assert.Contains("20 cpu0 L PiSetPrio 90", Lines(RunClean(s)));
    }

    [Fact]
    public void Validate_ALockWithoutAName_IsRefusedNamingTheStep()
    {
        SimScenario s = Scenario(1, BalancePolicy.WorkConserving, Task("T", 10, steps: [SimStep.Lock("")]));

        var e = Assert.Throws<SimScenarioException>(() => Simulator.Run(s, 0, new SimOptions()));
        Assert.Contains("$.tasks[0].steps[0].lock", e.Message, StringComparison.Ordinal);
    }
}
