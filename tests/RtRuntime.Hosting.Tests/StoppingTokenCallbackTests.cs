using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RtRuntime.Tasks;

namespace RtRuntime.Hosting.Tests;

public sealed class StoppingTokenCallbackTests
{
    [Fact]
    public async Task StopAsync_AWorkersStoppingTokenCallbackThrows_TheRuntimeStillStopsAndAccounts()
    {
        using IHost host = TestHosts.Build(s => s.AddRtWorker<ThrowingStopCallbackWorker>());
        await host.StartAsync();
        var worker = host.Services.GetRequiredService<ThrowingStopCallbackWorker>();
        await worker.Started.Task.WaitAsync(TestHosts.Hang);
        RtRuntimeAccessor accessor = host.Services.GetRequiredService<RtRuntimeAccessor>();

        try
        {
            await host.StopAsync();
        }
        catch (Exception)
        {
            // The callback's exception may surface from the host's stop (as a BackgroundService's would);
            // the runtime must stop regardless.
        }

        ShutdownSummary summary = await accessor.Stopped.WaitAsync(TestHosts.Hang);
        Assert.Equal(RtRuntimeState.Stopped, accessor.State);
        Assert.True(summary.AllAccountedFor);
        Assert.Equal(RtTaskState.Completed, worker.Task!.State);
        Assert.False(accessor.Runtime.IsAccepting);
    }

    [Fact]
    public async Task Dispose_WithoutStop_AWorkersStoppingTokenCallbackThrows_TheRuntimeStillStops()
    {
        IHost host = TestHosts.Build(s => s.AddRtWorker<ThrowingStopCallbackWorker>());
        await host.StartAsync();
        var worker = host.Services.GetRequiredService<ThrowingStopCallbackWorker>();
        await worker.Started.Task.WaitAsync(TestHosts.Hang);
        RtRuntimeAccessor accessor = host.Services.GetRequiredService<RtRuntimeAccessor>();

        try
        {
            await Task.Run(host.Dispose).WaitAsync(TestHosts.Hang);
        }
        catch (Exception)
        {
            // as above
        }

        ShutdownSummary summary = await accessor.Stopped.WaitAsync(TestHosts.Hang);
        Assert.True(summary.AllAccountedFor);
        Assert.False(accessor.Runtime.IsAccepting);
    }
}
