using RtRuntime;
using RtRuntime.Simulation;
using static RtRuntime.Tests.Simulation.SimBuild;

namespace RtRuntime.Tests.Simulation;

/// <summary>
/// Timed RtMutex waits and try-locks in the simulator (a <c>lock</c> step with <c>timeoutUs</c>, as the
/// threaded <c>RtMutex.WaitAsync(ctx, timeout)</c>; a <c>tryLock</c> step, as <c>RtMutex.TryLock</c>): a
/// wait that times out leaves the waiters, its boost of the owner (and along the chain) drops at once,
/// and the task skips its section to after its next unlock of that mutex; one handed the mutex first
/// holds it; a try-lock of a held mutex boosts nobody and skips too.
/// </summary>
public class SimTimedLockTests
{
    [Fact]
    public void Run_ATimedLockThatTimesOut_DropsTheOwnersBoostAndSkipsItsSection()
    {
        // L (10) holds m on CPU1 for 100 µs with a point every 10 µs; H (90) waits for m on CPU0 at 20 µs
        // for at most 30 µs. L runs at 90 from its point at 20 µs until H's timeout at 50 µs drops it (at
        // L's point at 50 µs); H skips its 10 µs section and its unlock, and runs its last 5 µs.
        SimResult r = RunClean(Scenario(2, BalancePolicy.WorkConserving,
            Task("L", 10, cpu: 1, affinity: "1", steps: [SimStep.Lock("m"), Run(100, every: 10), SimStep.Unlock("m")]),
            Task("H", 90, cpu: 0, spawn: 20, affinity: "0", steps: [SimStep.Lock("m", timeoutUs: 30), Run(10), SimStep.Unlock("m"), Run(5)])));

        Assert.Equal(
        [
            "0 cpu1 L Spawn", "0 cpu1 L SwitchIn", "20 cpu0 H Spawn", "20 cpu0 H SwitchIn", "20 cpu0 H Block",
            "20 cpu1 L PiSetPrio 90", "50 cpu0 H LockFailed m", "50 cpu0 H Wakeup", "50 cpu0 H SwitchIn",
            "50 cpu1 L PiSetPrio 10", "55 cpu0 H Exit", "100 cpu1 L Exit",
        ], Lines(r));
        Assert.Equal(30, r.Tasks.Single(t => t.Name == "H").LockWaitUs);
        Assert.Equal(30, r.Tasks.Single(t => t.Name == "L").BoostedUs);
        Assert.Empty(r.Bugs);
    }

    [Fact]
    public void Run_ATimedOutWaiterOfAChain_DropsTheBoostOfEveryOwnerOnIt()
    {
        // One CPU: L (10) holds m1; B (30) holds m2 and waits for m1; X (50) computes; H (90) waits for m2
        // for at most 20 µs from 30 µs (X's point after H's spawn): B and, through it, L run at 90 (L
        // ahead of X) until H's timeout at 50 µs drops both at once: B, waiting, there and then; L,
        // running, at its point at 50 µs (back at B's 30, below X, which then takes the CPU).
        SimResult r = RunClean(Scenario(1, BalancePolicy.WorkConserving,
            Task("L", 10, cpu: 0, steps: [SimStep.Lock("m1"), Run(100, every: 10), SimStep.Unlock("m1")]),
            Task("B", 30, cpu: 0, spawn: 5, steps: [SimStep.Lock("m2"), SimStep.Lock("m1"), Run(10), SimStep.Unlock("m1"), SimStep.Unlock("m2")]),
            Task("X", 50, cpu: 0, spawn: 15, steps: [Run(300, every: 10)]),
            Task("H", 90, cpu: 0, spawn: 25, steps: [SimStep.Lock("m2", timeoutUs: 20), Run(10), SimStep.Unlock("m2")])));

        string[] lines = Lines(r);
        Assert.Contains("30 cpu0 L PiSetPrio 90", lines);
        Assert.Contains("50 cpu0 H LockFailed m2", lines);
        Assert.Contains("50 cpu0 B PiSetPrio 30", lines);
        Assert.Contains("50 cpu0 L PiSetPrio 30", lines); // B still waits for m1: L keeps B's own priority
        Assert.Contains("50 cpu0 X SwitchIn", lines);
        Assert.Equal(20, r.Tasks.Single(t => t.Name == "H").LockWaitUs);
        Assert.Empty(r.Bugs);
    }

    [Fact]
    public void Run_ATimedLockHandedTheMutexBeforeItsTimeout_HoldsIt_AndTheStaleTimeoutDoesNothing()
    {
        SimResult r = RunClean(Scenario(2, BalancePolicy.WorkConserving,
            Task("L", 10, cpu: 1, affinity: "1", steps: [SimStep.Lock("m"), Run(100, every: 10), SimStep.Unlock("m")]),
            Task("H", 90, cpu: 0, spawn: 20, affinity: "0", steps: [SimStep.Lock("m", timeoutUs: 200), Run(10), SimStep.Unlock("m"), Run(5)])));

        string[] lines = Lines(r);
        Assert.DoesNotContain(lines, l => l.Contains("LockFailed", StringComparison.Ordinal));
        Assert.Contains("115 cpu0 H Exit", lines); // handed m at 100 µs: its 10 µs section, then 5 µs
        Assert.Equal(80, r.Tasks.Single(t => t.Name == "H").LockWaitUs);
        Assert.Empty(r.Bugs);
    }

    [Fact]
    public void Run_ATimedLockHandedTheMutex_EndsTheRunWhenAPlainLockWould()
    {
        // The threaded wait disarms its timer when it is handed the mutex; the stale timeout event must
        // neither keep the run ticking nor move the clock to it (found by review helper-94: the run ended
        // at 10,001,000 µs, the 10 s timeout's next tick, instead of at the plain lock's 1,000).
        SimScenario Of(SimStep lockStep) => new()
        {
            Cpus = 2,
            Policy = BalancePolicy.WorkConserving,
            TickUs = 1000,
            Tasks =
            [
                Task("L", 10, cpu: 1, affinity: "1", steps: [SimStep.Lock("m"), Run(100, every: 10), SimStep.Unlock("m")]),
                Task("H", 90, cpu: 0, spawn: 20, affinity: "0", steps: [lockStep, Run(10), SimStep.Unlock("m"), Run(5)]),
            ],
        };

        SimResult plain = RunClean(Of(SimStep.Lock("m")));
        SimResult timed = RunClean(Of(SimStep.Lock("m", timeoutUs: 10_000_000)));

        Assert.True(timed.Completed);
        Assert.Equal(plain.EndUs, timed.EndUs);
        Assert.Equal(Lines(plain), Lines(timed));
        Assert.Equal(plain.Cpus.Select(c => c.IdleUs), timed.Cpus.Select(c => c.IdleUs));
    }

    [Fact]
    public void Run_ATryLock_TakesAFreeMutex_AndSkipsTheSectionOfAHeldOneWithoutBoosting()
    {
        // L (10) holds m on CPU1; H (90) on CPU0 tries it at 20 µs (held: skipped, L not boosted), then
        // takes n, free, with a try-lock.
        SimResult r = RunClean(Scenario(2, BalancePolicy.WorkConserving,
            Task("L", 10, cpu: 1, affinity: "1", steps: [SimStep.Lock("m"), Run(100, every: 10), SimStep.Unlock("m")]),
            Task("H", 90, cpu: 0, spawn: 20, affinity: "0", steps:
            [
                SimStep.TryLock("m"), Run(10), SimStep.Unlock("m"),
                SimStep.TryLock("n"), Run(5), SimStep.Unlock("n"), Run(1),
            ])));

        string[] lines = Lines(r);
        Assert.Contains("20 cpu0 H LockFailed m", lines);
        Assert.Contains("26 cpu0 H Exit", lines); // m's 10 µs section skipped; 5 µs holding n; 1 µs
        Assert.DoesNotContain(lines, l => l.Contains("PiSetPrio", StringComparison.Ordinal));
        Assert.Empty(r.Bugs);
    }

    [Fact]
    public void Run_ATryLockOrATimedLockOfAMutexTheTaskHolds_IsReportedAndIgnored_AsALockIs()
    {
        // As the threaded RtMutex throws for every form of taking a mutex its task holds: H holds n and
        // tries it again, then locks it with a timeout; each is reported and does nothing (no section
        // skipped), and H's one unlock releases n.
        SimResult r = RunClean(Scenario(1, BalancePolicy.WorkConserving,
            Task("H", 90, steps:
            [
                SimStep.Lock("n"), Run(5), SimStep.TryLock("n"), Run(7), SimStep.Lock("n", timeoutUs: 50), Run(3), SimStep.Unlock("n"), Run(1),
            ])));

        Assert.Equal(
        [
            "5us H: H already holds n: an RtMutex is not recursive; the lock is ignored",
            "12us H: H already holds n: an RtMutex is not recursive; the lock is ignored",
        ], r.Bugs);
        string[] lines = Lines(r);
        Assert.Contains("16 cpu0 H Exit", lines); // 5 + 7 + 3 + 1 µs: nothing skipped
        Assert.DoesNotContain(lines, l => l.Contains("LockFailed", StringComparison.Ordinal));
        Assert.Empty(r.StuckTasks);
    }

    [Fact]
    public void Load_TimedAndTryLockSteps_ReadFromJson()
    {
        SimScenario s = SimScenario.FromJson("""
            {"cpus": 1, "tasks": [
              {"name": "L", "priority": 10, "steps": [{"lock": "m"}, {"run": 100, "everyUs": 10}, {"unlock": "m"}]},
              {"name": "H", "priority": 90, "spawnUs": 20, "steps": [{"lock": "m", "timeoutUs": 30}, {"run": 10}, {"unlock": "m"}, {"tryLock": "m"}, {"unlock": "m"}]}
            ]}
            """);

        Assert.Equal("lock m timeout 30us", s.Tasks[1].Steps[0].ToString());
        Assert.Equal("tryLock m", s.Tasks[1].Steps[3].ToString());
        Assert.Contains("50 cpu0 H LockFailed m", Lines(RunClean(s)));
    }

    [Theory]
    [InlineData("""{"unlock": "m", "timeoutUs": 5}""", "does not take timeoutUs")]
    [InlineData("""{"lock": "m", "timeoutUs": 0}""", "timeoutUs")]
    public void Load_ATimeoutOnTheWrongStepOrOutOfRange_IsRefused(string step, string expected)
    {
        var e = Assert.Throws<SimScenarioException>(() => SimScenario.FromJson($$"""{"cpus": 1, "tasks": [{"name": "T", "priority": 10, "steps": [{{step}}, {"unlock": "m"}]}]}"""));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Validate_AFailingLockWithoutALaterUnlock_IsRefusedNamingTheStep(bool tryLock)
    {
        SimStep failing = tryLock ? SimStep.TryLock("m") : SimStep.Lock("m", timeoutUs: 10);
        SimScenario s = Scenario(1, BalancePolicy.WorkConserving, Task("T", 10, steps: [SimStep.Unlock("m"), failing, Run(5)]));

        var e = Assert.Throws<SimScenarioException>(() => Simulator.Run(s, 0, new SimOptions()));
        Assert.Contains("$.tasks[0].steps[1]", e.Message, StringComparison.Ordinal);
        Assert.Contains("needs an unlock of it later in the same steps", e.Message, StringComparison.Ordinal);
    }
}
