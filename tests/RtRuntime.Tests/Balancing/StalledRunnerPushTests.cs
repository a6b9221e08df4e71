namespace RtRuntime.Tests.Balancing;

/// <summary>
/// A task queued (or listed by its waker) above a running task that passes no preemption point is, for
/// the kernel, about to run where it is: no pull or push takes it. With cooperative preemption that
/// holds only until the runner's next point, so once the CPU has not reached a scheduling point for a
/// rebalancer tick, <c>rt/balance</c> pushes the waiting task to a CPU that runs below it.
/// </summary>
public class StalledRunnerPushTests
{
    [Fact]
    public async Task TaskQueuedAboveARunnerWithoutPoints_RunsOnACpuThatFreesUp()
    {
        await using var rt = Rt.Start(o => { o.CpuCount = 2; o.StallThreshold = Rt.NoStallProbe; });
        StalledRunnerSetup s = await StalledRunnerSetup.StartAsync(rt);
        s.ReleaseHigh();
        await s.AllEndWithTheMoverOnCpu0Async();
        Assert.True(rt.BalanceCounters.Pushes >= 1, $"pushes {rt.BalanceCounters.Pushes}");
    }
}
