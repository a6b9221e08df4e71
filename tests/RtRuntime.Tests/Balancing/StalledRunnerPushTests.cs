using RtRuntime.Cpus;
using RtRuntime.Tasks;

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
        int highRunning = 0, releaseHigh = 0, holderRunning = 0, moverCpu = -1;
        RtTask high = rt.Spawn("high", 70, ctx =>
        {
            Volatile.Write(ref highRunning, 1);
            ctx.SpinWithoutPointsUntil(() => Volatile.Read(ref releaseHigh) != 0, "released");
            return ValueTask.CompletedTask;
        }, affinity: CpuSet.Of(0));
        RtTask holder = rt.Spawn("holder", 50, ctx =>
        {
            Volatile.Write(ref holderRunning, 1);
            ctx.SpinWithoutPointsUntil(() => Volatile.Read(ref moverCpu) >= 0, "the mover ran");
            return ValueTask.CompletedTask;
        }, affinity: CpuSet.Of(1));
        await Rt.Until(() => Volatile.Read(ref highRunning) == 1 && Volatile.Read(ref holderRunning) == 1, "high on cpu0, holder on cpu1");

        // Placed on cpu1, which runs the lower priority: it would run there at the holder's next point,
        // which never comes while the holder waits for it.
        RtTask mover = rt.Spawn("mover", 60, ctx =>
        {
            Volatile.Write(ref moverCpu, ctx.RawCpuId);
            return ValueTask.CompletedTask;
        }, affinity: CpuSet.Of(0, 1));
        await Rt.Until(() => mover.State == RtTaskState.Runnable && mover.CurrentCpu == 1, "mover waiting on cpu1");
        Volatile.Write(ref releaseHigh, 1); // cpu0 now runs nothing above the mover

        await mover.WithTimeout();
        Assert.Equal(0, Volatile.Read(ref moverCpu));
        await holder.WithTimeout();
        await high.WithTimeout();
        Assert.True(rt.BalanceCounters.Pushes >= 1, $"pushes {rt.BalanceCounters.Pushes}");
    }
}
