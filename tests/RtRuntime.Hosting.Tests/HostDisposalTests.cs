using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace RtRuntime.Hosting.Tests;

public sealed class HostDisposalTests
{
    [Fact]
    public async Task Dispose_WithoutStopAfterRtSchedulerWasInjected_CancelsTheWorkersStoppingTokenAtOnce()
    {
        // docs/hosting.md: a host disposed without a stop stops the runtime with no drain, the workers'
        // stopping token cancelled at once. Resolving RtScheduler (the documented way for code created
        // after start) must not change that: the container owns that instance too and disposes it first.
        IHost host = TestHosts.Build(s => s.AddRtWorker<TokenRecordingWorker>());
        await host.StartAsync();
        var worker = host.Services.GetRequiredService<TokenRecordingWorker>();
        await worker.Started.Task.WaitAsync(TestHosts.Hang);
        _ = host.Services.GetRequiredService<RtScheduler>(); // e.g. a request handler injected it
        RtRuntimeAccessor accessor = host.Services.GetRequiredService<RtRuntimeAccessor>();

        await Task.Run(host.Dispose).WaitAsync(TestHosts.Hang);

        ShutdownSummary summary = await accessor.Stopped.WaitAsync(TestHosts.Hang);
        // Before the fix the container's RtScheduler.DisposeAsync drained for 5 s and then cancelled the
        // task with the worker's stopping token never cancelled (the hosted service was disposed after).
        Assert.True(await worker.TokenCancelledAtEnd.Task.WaitAsync(TestHosts.Hang), "the worker's task ended before its stopping token was cancelled");
        Assert.Equal(1, summary.Accepted);
        Assert.True(summary.AllAccountedFor);
    }

    [Fact]
    public async Task Dispose_AfterAStopTheHostsDeadlineCutShort_ReturnsOnlyOnceTheRuntimeStopped()
    {
        // The host's deadline (here a token already cancelled) ends StopAsync while the runtime's stop
        // goes on: the worker awaits foreign work, which the stop ends (as cancelled) only once the cancel
        // grace (1 s) is over.
        // Disposing the host then must wait for that stop, or the CPU threads outlive the host.
        IHost host = TestHosts.Build(
            new Dictionary<string, string?> { ["RtRuntime:Hosting:CancelGrace"] = "00:00:01" },
            s => s.AddRtWorker<ForeignWaitWorker>());
        await host.StartAsync();
        await host.Services.GetRequiredService<ForeignWaitWorker>().Started.Task.WaitAsync(TestHosts.Hang);
        RtRuntimeAccessor accessor = host.Services.GetRequiredService<RtRuntimeAccessor>();

        await host.Services.GetRequiredService<RtRuntimeHostedService>().StopAsync(new CancellationToken(canceled: true)).WaitAsync(TestHosts.Hang);
        Assert.Equal(RtRuntimeState.Stopping, accessor.State);
        await Task.Run(host.Dispose).WaitAsync(TestHosts.Hang);

        Assert.True(accessor.Stopped.IsCompleted, "host.Dispose returned while the runtime was still stopping");
        ShutdownSummary summary = await accessor.Stopped;
        Assert.Equal((1L, 1L, 0L), (summary.Accepted, summary.Cancelled, summary.Abandoned));
    }
}
