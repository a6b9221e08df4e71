namespace RtRuntime.Tests.Core;

/// <summary>
/// The OS thread ids of the runtime's threads are cleared once the threads end: Linux gives a dead
/// tid to a later thread, maybe one of this process, whose CPU clock <see cref="RtScheduler.CpuThreadTime"/>
/// would then read.
/// </summary>
public class OsThreadIdTests
{
    [LinuxFact]
    public async Task Stop_ClearsTheThreadIdsOfTheCpuTimerAndBalanceThreads()
    {
        RtScheduler rt = Rt.Start(cpus: 2);
        await Rt.Until(() => rt.Cpus.All(c => c.OsThreadId != 0) && rt.HrTimer.OsThreadId != 0 && rt.Rebalancer.OsThreadId != 0, "the threads started");
        Assert.NotNull(rt.CpuThreadTime(0));

        ShutdownSummary summary = await rt.StopAsync(Rt.Hang).WithTimeout();

        Assert.True(summary.AllAccountedFor, summary.ToString());
        Assert.All(rt.Cpus, c => Assert.Equal(0, c.OsThreadId));
        Assert.Equal(0, rt.HrTimer.OsThreadId);
        Assert.Equal(0, rt.Rebalancer.OsThreadId);
        Assert.Null(rt.CpuThreadTime(0)); // not whatever thread the OS gave the tid to since
    }
}
