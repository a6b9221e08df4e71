using RtRuntime;
using RtRuntime.Simulation;
using static RtRuntime.Tests.Simulation.SimBuild;

namespace RtRuntime.Tests.Simulation;

/// <summary>
/// Local locks in the simulator (the <c>localLock</c> and <c>localUnlock</c> steps, as the threaded
/// <c>LocalLock</c>): under Rt a pinned sleeping lock per CPU with the RtMutex's priority inheritance,
/// under NonRt a preempt-disabled section; CPUs' instances are independent; a cycle through a local
/// lock and an RtMutex is reported (which the threaded runtime does not detect); a wrong unlock
/// leaves the task pinned.
/// </summary>
public class SimLocalLockTests
{
    private static readonly SimStep PP = SimStep.PreemptionPoint();

    private static SimStep LL(string name) => SimStep.LocalLock(name);

    private static SimStep LU(string name) => SimStep.LocalUnlock(name);

    private static SimScenario Inversion(PreemptionModel model) => new()
    {
        Cpus = 2,
        Model = model,
        Policy = BalancePolicy.WorkConserving,
        TickUs = 0,
        Tasks =
        [
            Task("L", 10, cpu: 0, steps: [LL("l"), Run(100, every: 10), LU("l"), PP, Run(10)]),
            Task("H", 90, cpu: 0, spawn: 20, affinity: "0", steps: [LL("l"), Run(10), LU("l")]),
            Task("M", 50, cpu: 0, spawn: 25, affinity: "0", steps: [Run(500, every: 10)]),
        ],
    };

    [Fact]
    public void Run_Rt_AWaiterBoostsTheHolderPinnedOnItsCpu()
    {
        SimResult r = RunClean(Inversion(PreemptionModel.Rt));

        Assert.Equal(
        [
            "0 cpu0 L Spawn", "0 cpu0 L SwitchIn", "0 cpu0 L MigrateDisable", "20 cpu0 H Spawn", "20 cpu0 L Preempt", "20 cpu0 H SwitchIn",
            "20 cpu0 H MigrateDisable", "20 cpu0 L PiSetPrio 90", "20 cpu0 H Block", "20 cpu0 L SwitchIn", "25 cpu0 M Spawn",
            "100 cpu0 H Wakeup", "100 cpu0 L PiSetPrio 10", "100 cpu0 L MigrateEnable", "100 cpu0 L Preempt", "100 cpu0 H SwitchIn",
            "100 cpu0->cpu1 L Push", "100 cpu1 L SwitchIn", "110 cpu0 H MigrateEnable", "110 cpu0 H Exit", "110 cpu0 M SwitchIn", "110 cpu1 L Exit", "610 cpu0 M Exit",
        ], Lines(r));
    }

    [Fact]
    public void Run_Rt_ATryLocalLockOfAnInstanceTheTaskHolds_IsReportedAndIgnored_AsALocalLockIs()
    {
        // As the threaded LocalLock.TryLock throws for a holder: reported, nothing taken or pinned, no
        // section skipped, and the one localUnlock releases the instance. Before, it failed and skipped
        // to after that unlock, so the task ended holding the instance, pinned.
        SimResult r = RunClean(new SimScenario
        {
            Cpus = 1,
            Model = PreemptionModel.Rt,
            Policy = BalancePolicy.WorkConserving,
            TickUs = 0,
            Tasks = [Task("A", 50, cpu: 0, steps: [LL("l"), Run(5), SimStep.TryLocalLock("l"), Run(7), LU("l"), Run(1)])],
        });

        Assert.Equal(["5us A: A already holds l/cpu0: a local lock is not recursive; the lock is ignored"], r.Bugs);
        Assert.Equal(
            ["0 cpu0 A Spawn", "0 cpu0 A SwitchIn", "0 cpu0 A MigrateDisable", "5 cpu0 A Bug", "12 cpu0 A MigrateEnable", "13 cpu0 A Exit"],
            Lines(r));
        Assert.Empty(r.StuckTasks);
    }

    [Fact]
    public void Run_NonRt_TheLockIsAPreemptDisabledSection()
    {
        SimResult r = RunClean(Inversion(PreemptionModel.NonRt));

        string[] lines = Lines(r);
        Assert.Equal(["100 cpu0 L Preempt", "100 cpu0 H SwitchIn"], lines.SkipWhile(l => l != "100 cpu0 L Preempt").Take(2));
        Assert.DoesNotContain(lines, l => l.Contains("PiSetPrio", StringComparison.Ordinal) || l.Contains("Block", StringComparison.Ordinal));
    }

    [Fact]
    public void Run_EachCpusInstance_IsItsOwn()
    {
        SimResult r = RunClean(Scenario(2, BalancePolicy.WorkConserving,
            Task("A", 10, cpu: 0, affinity: "0", steps: [LL("l"), Run(50, every: 10), LU("l")]),
            Task("B", 90, cpu: 1, spawn: 5, affinity: "1", steps: [LL("l"), Run(10), LU("l")])));

        Assert.Contains("15 cpu1 B Exit", Lines(r));
        Assert.Empty(r.Bugs);
    }

    [Fact]
    public void Run_ACycleThroughALocalLockAndAnRtMutex_IsReported()
    {
        SimResult r = RunClean(Scenario(1, BalancePolicy.WorkConserving,
            Task("A", 10, cpu: 0, steps: [LL("l"), Run(20, every: 10), SimStep.Lock("m"), Run(5), SimStep.Unlock("m"), LU("l")]),
            Task("B", 20, cpu: 0, spawn: 5, steps: [SimStep.Lock("m"), Run(20, every: 10), LL("l"), Run(5), LU("l"), SimStep.Unlock("m")])));

        Assert.Equal("40us A: BUG: circular locking deadlock detected: A/0 would wait for m held by B, waiting for l/cpu0 held by A; the lock is ignored", r.Bugs[0]);
        Assert.Empty(r.StuckTasks);
    }

    [Fact]
    public void Run_AnUnlockOfALockNotHeld_IsReportedAndLeavesTheTaskPinned()
    {
        SimResult r = RunClean(Scenario(1, BalancePolicy.WorkConserving,
            Task("A", 10, steps: [SimStep.MigrateDisable(), LU("l"), Run(5), SimStep.MigrateEnable()])));

        Assert.Equal(["0us A: A unlocked l/cpu0, which is free; ignored"], r.Bugs);
    }

    [Fact]
    public void Load_LocalLockSteps_ReadFromJson()
    {
        SimScenario s = SimScenario.FromJson("""
            {"cpus": 1, "tasks": [{"name": "L", "priority": 10, "steps": [{"localLock": "l"}, {"run": 10}, {"localUnlock": "l"}]}]}
            """);

        Assert.Equal("localLock l", s.Tasks[0].Steps[0].ToString());
        Assert.Equal("localUnlock l", s.Tasks[0].Steps[2].ToString());
        Assert.Empty(RunClean(s).Bugs);
    }
}
