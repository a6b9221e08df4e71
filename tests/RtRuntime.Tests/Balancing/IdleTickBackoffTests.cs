using RtRuntime.Scheduling;

namespace RtRuntime.Tests.Balancing;

/// <summary>
/// <c>rt/balance</c>'s tick on a quiet runtime (no task ran, runs or is queued): it backs off, doubling up
/// to <see cref="Rebalancer.IdleTickMaxNs"/>, as the kernel's NO_HZ_IDLE stops an idle CPU's tick, instead
/// of waking every <see cref="RtSchedulerOptions.BalanceTick"/> for nothing; work brings the tick back.
/// </summary>
public class IdleTickBackoffTests
{
    private const long TickNs = 100_000; // the shortest BalanceTick: 10,000 passes a second without the back-off

    [Fact]
    public async Task AnIdleRuntime_StopsPassingEveryTick()
    {
        // Nothing runs: the tick doubles at each quiet pass until it stands at its longest, and stays
        // there. Without the back-off it stays at 100 us (10,000 passes a second), and the wait fails
        // (a hang bound, not a timing: a loaded machine only slows the doubling).
        await using var rt = Rt.Start(o => { o.CpuCount = 2; o.BalanceTick = TimeSpan.FromTicks(TickNs / 100); });
        await Rt.Until(() => rt.Rebalancer.TickNs == Rebalancer.IdleTickMaxNs, "the tick backed off to its longest");
        long passes = Volatile.Read(ref rt.Rebalancer.Passes);
        Assert.Equal(Rebalancer.IdleTickMaxNs, rt.Rebalancer.TickNs);
        Assert.True(passes > 0, "rt/balance passed at least once before backing off");
    }

    [Fact]
    public async Task AfterAQuietSpell_WorkRestoresTheTick_AndAStalledRunnersWaiterIsPushed()
    {
        await using var rt = Rt.Start(o => { o.CpuCount = 2; o.BalanceTick = TimeSpan.FromTicks(TickNs / 100); o.StallThreshold = Rt.NoStallProbe; });
        await Rt.Until(() => rt.Rebalancer.TickNs == Rebalancer.IdleTickMaxNs, "the tick backed off to its longest");

        // Both CPUs run tasks that pass no preemption point: the next (backed-off) pass sees them and
        // restores the plain tick, under which the mover waiting on cpu1 is pushed once cpu0 frees up.
        StalledRunnerSetup s = await StalledRunnerSetup.StartAsync(rt);
        await Rt.Until(() => rt.Rebalancer.TickNs == TickNs, "the plain tick back");
        s.ReleaseHigh();
        await s.AllEndWithTheMoverOnCpu0Async();
        Assert.True(rt.BalanceCounters.Pushes >= 1, $"pushes {rt.BalanceCounters.Pushes}");
    }
}
