using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Testing;

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
    public async Task StopAndDispose_AtTheSameMoment_OnlyOneStopsTheRuntimeAndLogsTheSummary()
    {
        // Both read "Running" and then set "Stopping": before the compare-and-swap, both could pass the
        // read, so the runtime was stopped twice and its summary logged twice. Each round starts both
        // from a barrier; some rounds let the dispose win, others the stop.
        for (int round = 0; round < 10; round++)
        {
            using IHost host = TestHosts.Build(s => s.AddRtWorker<CooperativeWorker>().AddFakeLogging());
            await host.StartAsync();
            await host.Services.GetRequiredService<CooperativeWorker>().Started.Task.WaitAsync(TestHosts.Hang);
            var service = host.Services.GetRequiredService<RtRuntimeHostedService>();
            using var start = new Barrier(2);
            Task stop = Task.Run(async () =>
            {
                start.SignalAndWait();
                await service.StopAsync(CancellationToken.None);
            });
            Task dispose = Task.Run(async () =>
            {
                start.SignalAndWait();
                await service.DisposeAsync();
            });
            await Task.WhenAll(stop, dispose).WaitAsync(TestHosts.Hang);

            ShutdownSummary summary = await host.Services.GetRequiredService<RtRuntimeAccessor>().Stopped.WaitAsync(TestHosts.Hang);
            IReadOnlyList<FakeLogRecord> logs = host.Services.GetFakeLogCollector().GetSnapshot();
            Assert.Equal(1, logs.Count(r => r.Id.Id is 107 or 112)); // one "stopping" (by the host or at dispose)
            Assert.Equal(1, logs.Count(r => r.Id.Id is 108 or 109)); // one summary
            Assert.Equal(1, summary.Accepted);
            Assert.True(summary.AllAccountedFor);
        }
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

    [Fact]
    public async Task Dispose_AfterALaterServiceFailedToStart_DisposesTheWorkerOnlyAfterItsTaskEnded()
    {
        // The container disposes singletons in reverse order of creation, and the workers are created at
        // spawn, after the hosted runtime: a disposable worker was disposed (its device closed) while its
        // task still ran, and the runtime was stopped (its stopping token cancelled) only after that.
        IHost host = TestHosts.Build(s => s.AddRtWorker<DisposableWorker>().AddHostedService<FailingStartService>());
        await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        var worker = host.Services.GetRequiredService<DisposableWorker>();
        await worker.Started.Task.WaitAsync(TestHosts.Hang);
        RtRuntimeAccessor accessor = host.Services.GetRequiredService<RtRuntimeAccessor>();

        await Task.Run(host.Dispose).WaitAsync(TestHosts.Hang);

        Assert.True(await worker.TaskEndedAtDispose.Task.WaitAsync(TestHosts.Hang), "the worker was disposed while its task still ran");
        ShutdownSummary summary = await accessor.Stopped.WaitAsync(TestHosts.Hang);
        Assert.Equal((1L, 0L), (summary.Accepted, summary.Abandoned)); // completed or cancelled: the stop at dispose cancels its task at once
        Assert.True(summary.AllAccountedFor);
    }
}
