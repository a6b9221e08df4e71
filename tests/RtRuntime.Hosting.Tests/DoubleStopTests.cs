using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RtRuntime.Tasks;

namespace RtRuntime.Hosting.Tests;

public sealed class DoubleStopTests
{
    [Fact]
    public async Task StopAsync_SecondCallWhileTheFirstDrains_ReturnsOnlyOnceTheRuntimeStopped()
    {
        // The stubborn worker keeps the first stop draining (about 2.6 s of a 4 s shutdown timeout), then
        // it is cancelled. A second StopAsync (a second IHost.StopAsync, e.g. from a signal handler while
        // RunAsync stops the host) must not report the runtime stopped while it still runs.
        using IHost host = TestHosts.Build(
            new Dictionary<string, string?> { ["RtRuntime:Hosting:CancelGrace"] = "00:00:01" },
            s => s.AddRtWorker<StubbornWorker>(),
            shutdownTimeout: TimeSpan.FromSeconds(4));
        await host.StartAsync();
        var worker = host.Services.GetRequiredService<StubbornWorker>();
        await worker.Started.Task.WaitAsync(TestHosts.Hang);
        var service = host.Services.GetRequiredService<RtRuntimeHostedService>();
        RtRuntimeAccessor accessor = host.Services.GetRequiredService<RtRuntimeAccessor>();

        Task first = service.StopAsync(CancellationToken.None);
        Assert.Equal(RtRuntimeState.Stopping, accessor.State);
        await service.StopAsync(CancellationToken.None).WaitAsync(TestHosts.Hang);

        Assert.True(accessor.Stopped.IsCompleted, "the second StopAsync returned while the runtime was still stopping");
        Assert.Equal(RtTaskState.Cancelled, worker.Task!.State);
        await first.WaitAsync(TestHosts.Hang);
    }
}
