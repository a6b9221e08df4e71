using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>StopAsync's timeouts beyond what a timer takes (TimeSpan.MaxValue as "forever").</summary>
public sealed class StopTimeoutRangeTests
{
    [Fact]
    public async Task StopAsync_DrainTimeoutMaxValue_ThrowsNamingItOrStops_NeverWedgesTheRuntime()
    {
        RtScheduler rt = Rt.Start(cpus: 1);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        RtTask waiter = rt.Spawn("waiter", 10, async _ =>
        {
            started.TrySetResult();
            await release.Task; // live when the stop begins: the drain has to wait for it
        });
        await started.Task.WithTimeout();

        Task<ShutdownSummary>? stop = null;
        try
        {
            stop = rt.StopAsync(TimeSpan.MaxValue);
        }
        catch (ArgumentOutOfRangeException e)
        {
            // Rejected at once, naming the argument and its value: the runtime runs on and can be stopped.
            Assert.Equal("drainTimeout", e.ParamName);
            Assert.True(rt.IsAccepting);
            stop = rt.StopAsync(TimeSpan.FromSeconds(5));
        }

        release.SetResult();
        ShutdownSummary summary = await stop.WithTimeout(); // before the fix: faulted by Task.Delay, CPU threads left running
        Assert.True(summary.AllAccountedFor);
        Assert.Equal(1, summary.Completed);
    }

    [Fact]
    public async Task StopAsync_CancelGraceBeyondThreadJoin_ThrowsNamingItOrStops_NeverWedgesTheRuntime()
    {
        // 30 days: Task.Delay takes it (< 49.7 days) but Thread.Join (int milliseconds, < 24.9 days) does not.
        RtScheduler rt = Rt.Start(cpus: 1);
        Task<ShutdownSummary>? stop = null;
        try
        {
            stop = rt.StopAsync(TimeSpan.FromSeconds(5), TimeSpan.FromDays(30));
        }
        catch (ArgumentOutOfRangeException e)
        {
            Assert.Equal("cancelGrace", e.ParamName);
            Assert.True(rt.IsAccepting);
            stop = rt.StopAsync(TimeSpan.FromSeconds(5));
        }

        ShutdownSummary summary = await stop.WithTimeout();
        Assert.True(summary.AllAccountedFor);
    }
}
