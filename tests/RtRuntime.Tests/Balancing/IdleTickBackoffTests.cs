using System.Diagnostics;
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
        await using var rt = Rt.Start(o => { o.CpuCount = 2; o.BalanceTick = TimeSpan.FromTicks(TickNs / 100); });
        long before = Volatile.Read(ref rt.Rebalancer.Passes);
        var window = Stopwatch.StartNew();
        await Task.Delay(1500);
        long passes = Volatile.Read(ref rt.Rebalancer.Passes) - before;

        // The window's length only sizes the bound, and a loaded machine only lowers the count: from the
        // first quiet pass the tick doubles (100 us .. 100 ms: 11 passes), then ten passes a second.
        // Without the back-off: one pass per 100 us, about 15,000.
        long bound = 30 + (12 * (long)Math.Ceiling(window.Elapsed.TotalSeconds));
        Assert.True(passes <= bound, $"{passes} passes in {window.Elapsed.TotalMilliseconds:F0} ms on an idle runtime (at most {bound})");
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
