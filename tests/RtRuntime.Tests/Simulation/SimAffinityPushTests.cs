using RtRuntime;
using RtRuntime.Simulation;
using static RtRuntime.Tests.Simulation.SimBuild;

namespace RtRuntime.Tests.Simulation;

/// <summary>
/// A queued task whose affinity is widened in place (the request completes at once) is pushed by
/// itself, as the threaded <c>Balancer.PushQueuedTask</c> does: unless it runs on its CPU next, it goes
/// to the lowest CPU busy below it, whatever is queued ahead of it.
/// </summary>
public class SimAffinityPushTests
{
    // CPU0 runs R(30) with A(40) queued ahead of T(20) (A preempts R at R's next point, 10); T is affine
    // to CPU0 alone. At 7, C on CPU2 widens T's affinity to CPUs 0-1: CPU1 runs B(5), so T goes there.
    private static SimScenario WidenBehindAPendingPreemption() => new()
    {
        Cpus = 3,
        Policy = BalancePolicy.WorkConserving,
        TickUs = 0,
        AnticipateTimersUs = 0,
        Tasks =
        [
            Task("R", 30, cpu: 0, steps: [Run(100, every: 10)]),
            Task("B", 5, cpu: 1, affinity: "1", steps: [Run(1000, every: 10)]),
            Task("T", 20, cpu: 0, spawn: 1, affinity: "0", steps: [Run(100, every: 10)]),
            Task("A", 40, cpu: 0, spawn: 5, steps: [Run(100, every: 10)]),
            Task("C", 50, cpu: 2, spawn: 7, affinity: "2", steps: [Aff("T", "0-1"), Run(10)]),
        ],
    };

    [Fact]
    public void Run_QueuedTaskWidenedBehindAHigherQueuedTask_IsPushedAtOnce()
    {
        SimResult r = RunClean(WidenBehindAPendingPreemption());

        // Before: the simulator pushed CPU0's whole queue from its head, and stopped at once at A (it
        // runs on CPU0 next), so T stayed on CPU0 behind A until CPU0's next switch.
        Assert.Equal(
        [
            "0 cpu0 R Spawn", "0 cpu0 R SwitchIn", "0 cpu1 B Spawn", "0 cpu1 B SwitchIn", "1 cpu0 T Spawn", "5 cpu0 A Spawn",
            "7 cpu2 C Spawn", "7 cpu2 C SwitchIn", "7 cpu2 C AffinitySet T", "7 cpu2 C AffinityDone T", "7 cpu0->cpu1 T Push",
            "10 cpu0 R Preempt", "10 cpu0 A SwitchIn", "10 cpu0->cpu1 R Push", "10 cpu1 B Preempt", "10 cpu1 R SwitchIn",
            "17 cpu2 C Exit", "100 cpu1 R Exit", "100 cpu1 T SwitchIn", "110 cpu0 A Exit", "200 cpu1 T Exit", "200 cpu1 B SwitchIn",
            "1190 cpu1 B Exit",
        ], Lines(r));
    }
}
