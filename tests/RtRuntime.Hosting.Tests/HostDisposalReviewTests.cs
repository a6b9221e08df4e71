using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RtRuntime.Tasks;

namespace RtRuntime.Hosting.Tests;

public sealed class HostDisposalReviewTests
{
    [Fact]
    public async Task Dispose_WithoutStopAfterRtSchedulerWasInjected_CancelsTheWorkersStoppingTokenAtOnce()
    {
        // docs/hosting.md: a host disposed without a stop stops the runtime with no drain, the workers'
        // stopping token cancelled at once. Resolving RtScheduler (the documented way for code created
        // after start) must not change that: the container owns that instance too and disposes it first.
        IHost host = TestHosts.Build(s => s.AddRtWorker<CooperativeWorker>());
        await host.StartAsync();
        var worker = host.Services.GetRequiredService<CooperativeWorker>();
        await worker.Started.Task.WaitAsync(TestHosts.Hang);
        _ = host.Services.GetRequiredService<RtScheduler>(); // e.g. a request handler injected it
        RtRuntimeAccessor accessor = host.Services.GetRequiredService<RtRuntimeAccessor>();

        await Task.Run(host.Dispose).WaitAsync(TestHosts.Hang);

        ShutdownSummary summary = await accessor.Stopped.WaitAsync(TestHosts.Hang);
        Assert.Equal(RtTaskState.Completed, worker.Task!.State); // it returned on its stopping token
        Assert.Equal(1, summary.Completed);
        Assert.True(summary.AllAccountedFor);
    }
}
