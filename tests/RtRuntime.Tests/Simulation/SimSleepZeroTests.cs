using RtRuntime.Simulation;
using static RtRuntime.Tests.Simulation.SimBuild;

namespace RtRuntime.Tests.Simulation;

/// <summary>
/// <c>{"sleep": 0}</c> does what the threaded <c>Sleep(TimeSpan.Zero)</c> does
/// (<c>SleepAwaitable.TryPrepare</c>): with nothing pending on its CPU it returns at once, no switch and
/// no wakeup; with work pending (here a higher task woken onto the CPU, need_resched) it blocks and its
/// passed timer wakes it at the same instant. Before, every sleep 0 blocked and woke.
/// </summary>
public class SimSleepZeroTests
{
    [Fact]
    public void Run_ASleepOfZero_WithNothingPending_ReturnsWithoutASwitch()
    {
        SimResult r = RunClean(Scenario(2, BalancePolicy.WorkConserving,
            Task("A", 50, cpu: 0, steps: [Run(5), Sleep(0), Run(5)])));

        Assert.Equal(["0 cpu0 A Spawn", "0 cpu0 A SwitchIn", "10 cpu0 A Exit"], Lines(r));
        Assert.Empty(r.Bugs);
    }

    [Fact]
    public void Run_ASleepOfZero_WithAHigherTaskWokenOntoItsCpu_BlocksAndWakesAtOnce()
    {
        // A signals e, waking H (affinity cpu0) behind it: need_resched is pending, so the sleep blocks,
        // H runs, and A's passed timer wakes it at 5 µs; it runs after H (cpu1 stays free: A is pinned
        // to cpu0 by its affinity).
        SimResult r = RunClean(Scenario(2, BalancePolicy.WorkConserving,
            Task("H", 90, cpu: 0, affinity: "0", steps: [SimStep.Wait("e"), Run(3)]),
            Task("A", 50, cpu: 0, affinity: "0", steps: [Run(5), SimStep.Signal("e"), Sleep(0), Run(5)])));

        Assert.Equal(
            ["5 cpu0 H Wakeup", "5 cpu0 A Block", "5 cpu0 H SwitchIn", "5 cpu0 A Wakeup", "8 cpu0 H Exit", "8 cpu0 A SwitchIn", "13 cpu0 A Exit"],
            Lines(r).SkipWhile(l => !l.StartsWith("5 ", StringComparison.Ordinal)));
        Assert.Empty(r.Bugs);
    }

    [Fact]
    public void Run_ASleepOfZero_PreemptDisabled_IsSchedulingWhileAtomic_AndStillReturnsAtOnce()
    {
        SimResult r = RunClean(Scenario(1, BalancePolicy.WorkConserving,
            Task("A", 50, cpu: 0, steps: [PD, Run(5), Sleep(0), Run(5)])));

        Assert.Equal(["5us A: BUG: scheduling while atomic: A/0/0x00000001"], r.Bugs);
        Assert.Equal(["0 cpu0 A Spawn", "0 cpu0 A SwitchIn", "5 cpu0 A Bug", "10 cpu0 A Exit"], Lines(r));
    }
}
