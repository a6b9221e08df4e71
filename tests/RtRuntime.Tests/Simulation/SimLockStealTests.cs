using RtRuntime;
using RtRuntime.Simulation;
using static RtRuntime.Tests.Simulation.SimBuild;

namespace RtRuntime.Tests.Simulation;

/// <summary>
/// RtMutex lock stealing in the simulator (<c>rt_mutex_steal</c>, as the threaded <c>RtMutex</c>): an
/// unlock hands the mutex to its top waiter, pending until that waiter runs; a task of strictly higher
/// priority that locks it first takes it (a <c>LockStolen</c> trace entry), and the robbed waiter,
/// listed again, blocks again when it runs, or ends its timed wait if its timeout came meanwhile.
/// </summary>
public class SimLockStealTests
{
    [Fact]
    public void Run_AHigherTaskWokenBeforeTheHandedWaiterRuns_TakesTheMutexFirst()
    {
        // H runs at L's point at 25 µs, ahead of W (20), and takes m; its unlock at 30 µs hands m back to
        // W, which claims it when it runs. Without stealing H would block on m and W would run first.
        SimResult r = RunClean(OneCpu(hPriority: 30));
        Assert.Equal(
        [
            "0 cpu0 L Spawn", "0 cpu0 L SwitchIn", "1 cpu0 H Spawn", "5 cpu0 W Spawn", "5 cpu0 L Preempt",
            "5 cpu0 H SwitchIn", "5 cpu0 H Block", "5 cpu0 W SwitchIn", "5 cpu0 L PiSetPrio 20", "5 cpu0 W Block",
            "5 cpu0 L SwitchIn", "20 cpu0 W Wakeup", "20 cpu0 L PiSetPrio 10", "20 cpu0 H Wakeup", "25 cpu0 L Preempt",
            "25 cpu0 H SwitchIn", "25 cpu0 H LockStolen m", "30 cpu0 H Exit", "30 cpu0 W SwitchIn", "35 cpu0 W Exit",
            "35 cpu0 L SwitchIn", "50 cpu0 L Exit",
        ], Lines(r));
        Assert.Empty(r.Bugs);
    }

    [Fact]
    public void Run_AnEqualPriority_DoesNotSteal_ItWaitsForTheHandedWaitersSection()
    {
        // H (20) locks m on cpu1 at 25 µs while m is pending for W (20), queued behind X on cpu0: no steal.
        string[] lines = Lines(RunClean(TwoCpus(hPriority: 20, waiterTimeoutUs: 0)));
        Assert.DoesNotContain(lines, l => l.Contains("LockStolen", StringComparison.Ordinal));
        Assert.Contains("25 cpu1 H Block", lines);
        int w = Array.IndexOf(lines, "55 cpu0 W SwitchIn");
        Assert.True(w >= 0 && Array.IndexOf(lines, "60 cpu1 H Wakeup") > w, string.Join(" | ", lines)); // W's section (55-60 µs), then H's
    }

    [Fact]
    public void Run_AHigherTask_StealsFromTheHandedWaiter_WhileALowerWaiterIsStillListed()
    {
        // Review finding (helper-152): TwoCpus with V (15) waiting for m too. The handover to W leaves V
        // listed, lending W 15, below W's own 20: H (30) still outranks W and every waiter, and steals m
        // (it did not: any loan to the pending owner refused the steal, so H waited for W's section).
        SimScenario s = Scenario(2, BalancePolicy.WorkConserving,
            Task("L", 10, cpu: 0, affinity: "0", steps: [SimStep.Lock("m"), Run(20, every: 1), SimStep.Unlock("m"), Run(100, every: 5)]),
            Task("V", 15, cpu: 0, spawn: 3, affinity: "0", steps: [SimStep.Lock("m"), Run(1), SimStep.Unlock("m")]),
            Task("W", 20, cpu: 0, spawn: 5, affinity: "0", steps: [SimStep.Lock("m"), Run(5), SimStep.Unlock("m"), Run(1)]),
            Task("X", 50, cpu: 0, spawn: 21, affinity: "0", steps: [Run(30)]),
            Task("H", 30, cpu: 1, spawn: 25, affinity: "1", steps: [SimStep.Lock("m"), Run(40), SimStep.Unlock("m")]));
        string[] lines = Lines(RunClean(s));
        Assert.Contains("3 cpu0 V Block", lines); // listed before the handover at 20 µs
        Assert.Contains(lines, l => l.EndsWith("cpu1 H LockStolen m", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.EndsWith("cpu1 H Block", StringComparison.Ordinal));
    }

    [Fact]
    public void Run_ARobbedWaiterThatRunsWhileTheStealerHoldsIt_BlocksAgain_AndGetsItAtTheNextUnlock()
    {
        string[] lines = Lines(RunClean(TwoCpus(hPriority: 40, waiterTimeoutUs: 0)));
        int stolen = Array.IndexOf(lines, "25 cpu1 H LockStolen m");
        int runs = Array.IndexOf(lines, "55 cpu0 W SwitchIn"); // after X: it claims m, robbed, and blocks again
        int blocks = Array.IndexOf(lines, "55 cpu0 W Block");
        int handed = Array.IndexOf(lines, "65 cpu0 W Wakeup"); // H's unlock
        Assert.True(stolen >= 0 && runs > stolen && blocks == runs + 1 && handed > blocks, string.Join(" | ", lines));
        Assert.Contains("71 cpu0 W Exit", lines); // its section (65-70 µs) and its last 1 µs
    }

    [Theory]
    [InlineData(18)] // at 23 µs: m is pending for W (handed at 20 µs, stolen at 25 µs)
    [InlineData(25)] // at 30 µs: W is listed again, robbed, and queued
    public void Run_ARobbedTimedWaitWhoseTimeoutCameBeforeItRan_EndsAsTimedOutWhenItRuns(long timeoutUs)
    {
        SimResult r = RunClean(TwoCpus(hPriority: 40, waiterTimeoutUs: timeoutUs));
        string[] lines = Lines(r);
        Assert.Contains("25 cpu1 H LockStolen m", lines);
        int runs = Array.IndexOf(lines, "55 cpu0 W SwitchIn");
        Assert.True(runs >= 0 && lines[runs + 1] == "55 cpu0 W LockFailed m", string.Join(" | ", lines));
        Assert.Contains("56 cpu0 W Exit", lines); // its section skipped: only its last 1 µs
        Assert.Empty(r.Bugs);
    }

    [Fact]
    public void Run_ATimedWaitHandedTheMutexBeforeItsTimeout_HoldsIt_EvenIfItRunsAfterTheTimeout()
    {
        // No H: m pending for W from 20 µs, its timeout at 23 µs, it runs at 55 µs (after X) and holds m.
        SimResult r = RunClean(Scenario(2, BalancePolicy.WorkConserving,
            Task("L", 10, cpu: 0, affinity: "0", steps: [SimStep.Lock("m"), Run(20, every: 5), SimStep.Unlock("m"), Run(100, every: 5)]),
            Task("W", 20, cpu: 0, spawn: 5, affinity: "0", steps: [SimStep.Lock("m", 18), Run(5), SimStep.Unlock("m"), Run(1)]),
            Task("X", 50, cpu: 0, spawn: 21, affinity: "0", steps: [Run(30)])));
        string[] lines = Lines(r);
        Assert.DoesNotContain(lines, l => l.Contains("LockFailed", StringComparison.Ordinal));
        Assert.Contains("61 cpu0 W Exit", lines); // its section (55-60 µs) and its last 1 µs
    }

    [Fact]
    public void Run_ALocalLockHandedToAWaiterThatHasNotRun_IsStolenByAHigherTaskOnItsCpu()
    {
        // As the first test, with cpu0's instance of local lock l under the Rt model; L signals H before
        // it unlocks, as its unlock's migrate_enable is a point where W would run at once.
        SimResult r = RunClean(Scenario(1, BalancePolicy.WorkConserving,
            Task("L", 10, cpu: 0, steps: [SimStep.LocalLock("l"), Run(20, every: 5), SimStep.Signal("a"), SimStep.LocalUnlock("l"), Run(20, every: 5)]),
            Task("W", 20, cpu: 0, spawn: 5, steps: [SimStep.LocalLock("l"), Run(5), SimStep.LocalUnlock("l")]),
            Task("H", 30, cpu: 0, spawn: 1, steps: [SimStep.Wait("a"), SimStep.LocalLock("l"), Run(5), SimStep.LocalUnlock("l")])));
        string[] lines = Lines(r);
        Assert.Contains("20 cpu0 H LockStolen l/cpu0", lines);
        Assert.True(Array.IndexOf(lines, "25 cpu0 H Exit") < Array.IndexOf(lines, "25 cpu0 W SwitchIn"), string.Join(" | ", lines)); // W claims it after H
        Assert.Empty(r.Bugs);
    }

    [Theory]
    [InlineData(true)] // local lock: a spinlock_t, whose normal-class waiters steal from equals
    [InlineData(false)] // RtMutex: FIFO among equals
    public void Run_TheUnlockerTryLockingAgain_StealsFromAnEqualNormalWaiter_OnlyOnALocalLock(bool localLock)
    {
        // Normal tasks on one CPU: L holds the lock and yields, W blocks on it; L unlocks (handed to W,
        // queued) and try-locks it again at once.
        SimStep take = localLock ? SimStep.LocalLock("l") : SimStep.Lock("l");
        SimStep drop = localLock ? SimStep.LocalUnlock("l") : SimStep.Unlock("l");
        SimStep again = localLock ? SimStep.LocalLock("l") : SimStep.TryLock("l"); // a local lock taken while it is pending for W
        SimResult r = RunClean(Scenario(1, BalancePolicy.WorkConserving,
            Normal(Task("L", 0, cpu: 0, steps: [take, Run(5), SimStep.Yield(), Run(5), drop, again, Run(5), drop, Run(5)])),
            Normal(Task("W", 0, cpu: 0, spawn: 1, steps: [take, Run(5), drop]))));
        string[] lines = Lines(r);
        Assert.Equal(localLock, lines.Any(l => l.Contains("LockStolen", StringComparison.Ordinal)));
        Assert.Empty(r.Bugs);
    }

    [Fact]
    public void Run_ATryLocalLock_TakesAFreeInstance_StealsAPendingOne_AndOfAHeldOneSkipsItsSection()
    {
        // One CPU: L (10) holds l; W (20) blocks on it; H (30) try-locks it at 5 µs (held: it skips its
        // section, to after its local unlock) and again at 25 µs, after L's unlock handed l to W, which
        // has not run (H steals it). Last, W claims l after H's unlock.
        SimResult r = RunClean(Scenario(1, BalancePolicy.WorkConserving,
            Task("L", 10, cpu: 0, steps: [SimStep.LocalLock("l"), Run(20, every: 5), SimStep.Signal("a"), SimStep.LocalUnlock("l"), Run(20, every: 5)]),
            Task("W", 20, cpu: 0, spawn: 2, steps: [SimStep.LocalLock("l"), Run(5), SimStep.LocalUnlock("l")]),
            Task("H", 30, cpu: 0, spawn: 5, steps: [SimStep.TryLocalLock("l"), Run(50), SimStep.LocalUnlock("l"), SimStep.Wait("a"), SimStep.TryLocalLock("l"), Run(5), SimStep.LocalUnlock("l")])));
        string[] lines = Lines(r);
        Assert.Contains("5 cpu0 H LockFailed l/cpu0", lines);
        Assert.Contains("20 cpu0 H LockStolen l/cpu0", lines);
        Assert.True(Array.IndexOf(lines, "25 cpu0 H Exit") < Array.IndexOf(lines, "25 cpu0 W SwitchIn"), string.Join(" | ", lines));
        Assert.Empty(r.Bugs);
    }

    [Fact]
    public void Validate_ATryLocalLockWithoutALocalUnlockAfterIt_IsRefused()
    {
        SimScenario s = Scenario(1, BalancePolicy.WorkConserving, Task("T", 10, cpu: 0, steps: [SimStep.TryLocalLock("l"), Run(5), SimStep.Unlock("l")]));
        var e = Assert.Throws<SimScenarioException>(() => Simulator.Run(s, 0));
        Assert.Contains("tryLocalLock of 'l' needs a localUnlock", e.Message, StringComparison.Ordinal);
    }

    private static SimTaskSpec Normal(SimTaskSpec spec) => new()
    {
        Name = spec.Name,
        Priority = 0,
        Policy = Tasks.SchedPolicy.Normal,
        WakeCpu = spec.WakeCpu,
        SpawnUs = spec.SpawnUs,
        Affinity = spec.Affinity,
        Steps = spec.Steps,
    };

    /// <summary>
    /// Two CPUs: on cpu0 L (10) holds m for 20 µs and W (20, cpu0 only) waits for it from 5 µs (timed
    /// when <paramref name="waiterTimeoutUs"/> is above 0); X (50, cpu0 only) computes from 21 µs to 51 µs,
    /// so W, handed m at 20 µs, stays queued; H (<paramref name="hPriority"/>, cpu1) locks m at 25 µs and holds it for 40 µs.
    /// </summary>
    private static SimScenario TwoCpus(int hPriority, long waiterTimeoutUs) => Scenario(2, BalancePolicy.WorkConserving,
        Task("L", 10, cpu: 0, affinity: "0", steps: [SimStep.Lock("m"), Run(20, every: 5), SimStep.Unlock("m"), Run(100, every: 5)]),
        Task("W", 20, cpu: 0, spawn: 5, affinity: "0", steps: [waiterTimeoutUs > 0 ? SimStep.Lock("m", waiterTimeoutUs) : SimStep.Lock("m"), Run(5), SimStep.Unlock("m"), Run(1)]),
        Task("X", 50, cpu: 0, spawn: 21, affinity: "0", steps: [Run(30)]),
        Task("H", hPriority, cpu: 1, spawn: 25, affinity: "1", steps: [SimStep.Lock("m"), Run(40), SimStep.Unlock("m")]));

    /// <summary>
    /// One CPU: L (10) holds m for 20 µs; W (20) waits for it from 5 µs (L runs at 20); H (<paramref name="hPriority"/>)
    /// waits for event a from 1 µs. L unlocks at 20 µs, handing m to W, and signals a: H runs next.
    /// </summary>
    private static SimScenario OneCpu(int hPriority) => Scenario(1, BalancePolicy.WorkConserving,
        Task("L", 10, cpu: 0, steps: [SimStep.Lock("m"), Run(20, every: 5), SimStep.Unlock("m"), SimStep.Signal("a"), Run(20, every: 5)]),
        Task("W", 20, cpu: 0, spawn: 5, steps: [SimStep.Lock("m"), Run(5), SimStep.Unlock("m")]),
        Task("H", hPriority, cpu: 0, spawn: 1, steps: [SimStep.Wait("a"), SimStep.Lock("m"), Run(5), SimStep.Unlock("m")]));
}
