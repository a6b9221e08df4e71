using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Testing;
using RtRuntime.Tasks;

namespace RtRuntime.Hosting.Tests;

public sealed class HostLifecycleTests
{
    [Fact]
    public async Task StartAsync_RealHost_InjectedRuntimeRunsWork()
    {
        using IHost host = TestHosts.Build();
        await host.StartAsync();

        RtScheduler runtime = host.Services.GetRequiredService<RtScheduler>();
        Assert.Same(runtime, host.Services.GetRequiredService<RtRuntimeAccessor>().Runtime);
        Assert.True(runtime.IsAccepting);
        Assert.Equal(2, runtime.CpuCount);

        RtTask<int> task = runtime.Spawn("answer", 10, async ctx =>
        {
            await ctx.PreemptionPoint();
            return 42;
        });
        Assert.Equal(42, await task.AsTask().WaitAsync(TestHosts.Hang));

        await host.StopAsync();
        ShutdownSummary summary = await host.Services.GetRequiredService<RtRuntimeAccessor>().Stopped.WaitAsync(TestHosts.Hang);
        Assert.Equal(1, summary.Accepted);
        Assert.Equal(1, summary.Completed);
        Assert.True(summary.AllAccountedFor);
    }

    [Fact]
    public void Runtime_BeforeHostStart_ThrowsSayingWhenItExists()
    {
        using IHost host = TestHosts.Build();
        RtRuntimeAccessor accessor = host.Services.GetRequiredService<RtRuntimeAccessor>();

        Assert.Equal(RtRuntimeState.NotStarted, accessor.State);
        Assert.False(accessor.TryGetRuntime(out _));
        var ex = Assert.Throws<InvalidOperationException>(() => host.Services.GetRequiredService<RtScheduler>());
        Assert.Contains("NotStarted", ex.Message, StringComparison.Ordinal);
        Assert.Contains("RtRuntimeAccessor", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StopAsync_RequestTasksAndCooperativeWorker_AllEndAndAreAccountedFor()
    {
        using IHost host = TestHosts.Build(s => s.AddRtWorker<CooperativeWorker>());
        await host.StartAsync();
        var worker = host.Services.GetRequiredService<CooperativeWorker>();
        await worker.Started.Task.WaitAsync(TestHosts.Hang);

        RtScheduler runtime = host.Services.GetRequiredService<RtScheduler>();
        var tasks = new List<RtTask>();
        for (int i = 0; i < 20; i++)
        {
            tasks.Add(runtime.Spawn("req" + i, 1 + (i % 50), async ctx =>
            {
                for (int step = 0; step < 100; step++)
                {
                    await ctx.PreemptionPoint();
                }
            }));
        }

        await host.StopAsync();
        ShutdownSummary summary = await host.Services.GetRequiredService<RtRuntimeAccessor>().Stopped.WaitAsync(TestHosts.Hang);

        Assert.Equal(21, summary.Accepted);
        Assert.Equal(21, summary.Completed);
        Assert.Equal(0, summary.Cancelled + summary.Faulted + summary.Abandoned);
        Assert.True(summary.AllAccountedFor);
        Assert.All(tasks, t => Assert.Equal(RtTaskState.Completed, t.State));
        Assert.Equal(RtTaskState.Completed, worker.Task!.State);
        Assert.False(runtime.IsAccepting);
        Assert.Equal(RtRuntimeState.Stopped, host.Services.GetRequiredService<RtRuntimeAccessor>().State);
    }

    [Fact]
    public async Task StopAsync_WorkerIgnoresStoppingToken_CancelledAfterDrainWithinShutdownTimeout()
    {
        (IHost host, StubbornWorker worker) = await StartWithStubbornWorkerAsync();
        using IHost _ = host;

        await host.StopAsync();
        ShutdownSummary summary = await host.Services.GetRequiredService<RtRuntimeAccessor>().Stopped.WaitAsync(TestHosts.Hang);

        Assert.Equal(RtTaskState.Cancelled, worker.Task!.State);
        Assert.Equal(1, summary.Accepted);
        Assert.Equal(1, summary.Cancelled);
        Assert.Equal(0, summary.Abandoned);
        Assert.True(summary.AllAccountedFor);
    }

    [Fact]
    public async Task StopAsync_AfterAnotherServiceSpentPartOfTheShutdownTimeout_BudgetsOnlyWhatIsLeft()
    {
        TimeSpan shutdownTimeout = TimeSpan.FromSeconds(3);
        using IHost host = TestHosts.Build(
            new Dictionary<string, string?> { ["RtRuntime:Hosting:CancelGrace"] = "00:00:01" },
            s => s.AddRtWorker<StubbornWorker>().AddHostedService<SlowStopService>().AddFakeLogging(),
            shutdownTimeout);
        await host.StartAsync();
        var worker = host.Services.GetRequiredService<StubbornWorker>();
        await worker.Started.Task.WaitAsync(TestHosts.Hang);

        await host.StopAsync(); // stops SlowStopService first (reverse registration order), then the runtime
        ShutdownSummary summary = await host.Services.GetRequiredService<RtRuntimeAccessor>().Stopped.WaitAsync(TestHosts.Hang);

        FakeLogRecord stopping = Assert.Single(host.Services.GetFakeLogCollector().GetSnapshot(), r => r.Id.Id == 107);
        TimeSpan drain = TimeSpan.Parse(stopping.GetStructuredStateValue("Drain")!, CultureInfo.InvariantCulture);
        TimeSpan grace = TimeSpan.Parse(stopping.GetStructuredStateValue("Grace")!, CultureInfo.InvariantCulture);
        Assert.True(drain + grace <= shutdownTimeout - SlowStopService.Delay, $"drain {drain} + grace {grace} exceed what the slow service left of {shutdownTimeout}");
        Assert.Equal(RtTaskState.Cancelled, worker.Task!.State);
        Assert.True(summary.AllAccountedFor);
    }

    [Fact]
    public async Task StopAsync_HostTokenAlreadyCancelled_CancelsWorkersAtOnceAndStillAccounts()
    {
        // A 5-minute budget: the runtime's own drain would not cancel the worker within the test, so a
        // cancelled worker proves the hosted service acted on the token StopAsync received.
        using IHost host = TestHosts.Build(s => s.AddRtWorker<StubbornWorker>(), shutdownTimeout: TimeSpan.FromMinutes(5));
        await host.StartAsync();
        var worker = host.Services.GetRequiredService<StubbornWorker>();
        await worker.Started.Task.WaitAsync(TestHosts.Hang);

        var service = host.Services.GetRequiredService<RtRuntimeHostedService>();
        await service.StopAsync(new CancellationToken(canceled: true));
        ShutdownSummary summary = await host.Services.GetRequiredService<RtRuntimeAccessor>().Stopped.WaitAsync(TestHosts.Hang);

        Assert.Equal(RtTaskState.Cancelled, worker.Task!.State);
        Assert.Equal(1, summary.Cancelled);
        Assert.True(summary.AllAccountedFor);
        await host.StopAsync(); // the host's own stop is then a no-op for the runtime
    }

    [Fact]
    public async Task StartAsync_CoreOutsideAffinityMask_FailsHostStart()
    {
        using IHost host = TestHosts.Build(new Dictionary<string, string?> { ["RtRuntime:Cores"] = "1000" });

        var ex = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => host.StartAsync());

        Assert.Equal("Cores", ex.ParamName);
        RtRuntimeAccessor accessor = host.Services.GetRequiredService<RtRuntimeAccessor>();
        Assert.Equal(RtRuntimeState.Failed, accessor.State);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => accessor.Stopped);
    }

    [Theory]
    [InlineData(30_000, 5_000, 24_000, 5_000)] // 1 s kept for the teardown
    [InlineData(2_000, 5_000, 900, 900)]       // a tenth kept; the grace capped at half the rest
    [InlineData(0, 5_000, 0, 0)]
    public void StopBudget_ShutdownTimeout_TeardownKeptGraceCappedAtHalfAndDrainIsTheRest(int timeoutMs, int graceMs, int drainExpected, int graceExpected)
    {
        (TimeSpan drain, TimeSpan grace) = RtRuntimeHostedService.StopBudget(TimeSpan.FromMilliseconds(timeoutMs), TimeSpan.FromMilliseconds(graceMs));

        Assert.Equal(TimeSpan.FromMilliseconds(drainExpected), drain);
        Assert.Equal(TimeSpan.FromMilliseconds(graceExpected), grace);
    }

    [Fact]
    public void StopBudget_InfiniteShutdownTimeout_DrainsWithoutLimit()
    {
        (TimeSpan drain, TimeSpan grace) = RtRuntimeHostedService.StopBudget(Timeout.InfiniteTimeSpan, TimeSpan.FromSeconds(5));

        Assert.Equal(Timeout.InfiniteTimeSpan, drain);
        Assert.Equal(TimeSpan.FromSeconds(5), grace);
    }

    [Fact]
    public async Task StartAsync_ALaterHostedServiceFails_TheRuntimeStopsWhenTheHostIsDisposed()
    {
        IHost host = TestHosts.Build(s =>
        {
            s.AddRtWorker<CooperativeWorker>();
            s.AddHostedService<FailingStartService>();
        });
        var accessor = host.Services.GetRequiredService<RtRuntimeAccessor>();
        await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        Assert.Equal(RtRuntimeState.Running, accessor.State); // the host stops no service after a failed start
        Assert.True(accessor.TryGetRuntime(out RtScheduler? runtime));

        host.Dispose();
        ShutdownSummary summary = await accessor.Stopped.WaitAsync(TestHosts.Hang);
        Assert.Equal(RtRuntimeState.Stopped, accessor.State);
        Assert.False(runtime!.IsAccepting);
        Assert.True(summary.AllAccountedFor, summary.ToString());
        Assert.Equal(1, summary.Accepted); // the worker: it returned on its stopping token or was cancelled
    }

    [Fact]
    public async Task StopAsync_SecondCallWhileTheFirstDrains_ReturnsOnlyOnceTheRuntimeStopped()
    {
        // The stubborn worker keeps the first stop draining until it is cancelled. A second StopAsync
        // (a second IHost.StopAsync, e.g. from a signal handler while RunAsync stops the host) must not
        // report the runtime stopped while it still runs.
        (IHost host, StubbornWorker worker) = await StartWithStubbornWorkerAsync();
        using IHost _ = host;
        var service = host.Services.GetRequiredService<RtRuntimeHostedService>();
        RtRuntimeAccessor accessor = host.Services.GetRequiredService<RtRuntimeAccessor>();

        Task first = service.StopAsync(CancellationToken.None);
        Assert.Equal(RtRuntimeState.Stopping, accessor.State);
        await service.StopAsync(CancellationToken.None).WaitAsync(TestHosts.Hang);

        Assert.True(accessor.Stopped.IsCompleted, "the second StopAsync returned while the runtime was still stopping");
        Assert.Equal(RtTaskState.Cancelled, worker.Task!.State);
        await first.WaitAsync(TestHosts.Hang);
    }

    /// <summary>A started host (4 s shutdown timeout, 1 s cancel grace) whose one worker ignores its stopping token, once the worker runs.</summary>
    private static async Task<(IHost Host, StubbornWorker Worker)> StartWithStubbornWorkerAsync()
    {
        IHost host = TestHosts.Build(
            new Dictionary<string, string?> { ["RtRuntime:Hosting:CancelGrace"] = "00:00:01" },
            s => s.AddRtWorker<StubbornWorker>(),
            shutdownTimeout: TimeSpan.FromSeconds(4));
        await host.StartAsync();
        var worker = host.Services.GetRequiredService<StubbornWorker>();
        await worker.Started.Task.WaitAsync(TestHosts.Hang);
        return (host, worker);
    }
}
