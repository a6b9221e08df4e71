using RtRuntime;
using RtRuntime.Cpus;
using RtRuntime.Simulation;
using static RtRuntime.Tests.Simulation.SimBuild;

namespace RtRuntime.Tests.Simulation;

/// <summary>
/// The threaded AffinityToDyingCpuTests, exactly: a migrate-disabled target's new mask may name only an
/// inactive (online, going offline) CPU (__set_cpus_allowed_ptr_locked checks it against
/// cpu_online_mask); at its migrate-enable the stopper's move fails, the caller returns, the target stays
/// on its CPU; its next wakeup falls back (select_fallback_rq widens its mask, with a warning).
/// </summary>
public class SimAffinityToInactiveCpuTests
{
    // T runs migrate-disabled on CPU0 from 0 to 20; at 5 P (CPU1) asks for T on {2}, inactive.
    private static SimScenario PinnedTargetToInactiveCpu(bool pinned) => new()
    {
        Cpus = 3,
        InactiveCpus = CpuSet.Of(2),
        Policy = BalancePolicy.WorkConserving,
        TickUs = 0,
        AnticipateTimersUs = 0,
        Tasks =
        [
            Task("T", 10, cpu: 0, affinity: "0-1", steps: pinned ? new[] { MD, Run(20), ME, Run(5), Sleep(10), Run(5) } : new[] { Run(20), Run(5), Sleep(10), Run(5) }),
            Task("P", 20, cpu: 1, spawn: 5, affinity: "1", steps: [Aff("T", "2"), Run(5)]),
        ],
    };

    [Fact]
    public void Run_MigrateDisabledTargetToAnInactiveCpu_CallerReturnsAtMigrateEnable_TargetStays_ItsWakeupFallsBack()
    {
        SimResult r = RunClean(PinnedTargetToInactiveCpu(pinned: true));
        string[] lines = Lines(r);
        string all = string.Join('\n', lines);

        Assert.DoesNotContain("AffinityFailed", all);
        Assert.Equal(["5 cpu1 P AffinitySet T", "5 cpu1 P Block"], lines.SkipWhile(l => l != "5 cpu1 P AffinitySet T").Take(2));
        Assert.Equal(
            ["20 cpu0 T MigrateEnable", "20 cpu1 P AffinityDone T", "20 cpu1 P Wakeup"],
            lines.SkipWhile(l => l != "20 cpu0 T MigrateEnable").Take(3));
        Assert.Equal(25, r.Task("P").ExitUs);

        // T was never moved: it ran on CPU0 to its sleep, and its wakeup at 35 fell back to CPU0.
        Assert.DoesNotContain(lines, l => l.Contains(" T Migrate ", StringComparison.Ordinal) || l.Contains("cpu2 T", StringComparison.Ordinal));
        Assert.Contains("35 cpu0 T Wakeup", all);
        Assert.Equal(40, r.Task("T").ExitUs);
        Assert.Equal(CpuSet.Range(0, 3), r.Task("T").Affinity);
        Assert.Single(r.Bugs, b => b.Contains("no longer affine to cpu", StringComparison.Ordinal));
    }

    [Fact]
    public void Run_MigratableTargetToAnInactiveCpu_Fails()
    {
        SimResult r = RunClean(PinnedTargetToInactiveCpu(pinned: false));
        Assert.Contains("5 cpu1 P AffinityFailed T", Lines(r));
        Assert.Equal(CpuSet.Of(0, 1), r.Task("T").Affinity);
        Assert.Equal(10, r.Task("P").ExitUs);
    }
}
