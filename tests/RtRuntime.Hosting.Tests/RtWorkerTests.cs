using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Hosting.Tests;

public sealed class RtWorkerTests
{
    [Fact]
    public async Task AddRtWorker_ConfiguredPriorityPolicyAndAffinity_RunsAsConfigured()
    {
        using IHost host = TestHosts.Build(
            new Dictionary<string, string?>
            {
                ["RtRuntime:Workers:ProbeWorker:Priority"] = "42",
                ["RtRuntime:Workers:ProbeWorker:Policy"] = "RoundRobin",
                ["RtRuntime:Workers:ProbeWorker:Affinity"] = "1",
            },
            s => s.AddRtWorker<ProbeWorker>());
        await host.StartAsync();
        var worker = host.Services.GetRequiredService<ProbeWorker>();

        var observed = await worker.Observed.Task.WaitAsync(TestHosts.Hang);

        Assert.Equal(42, observed.Priority);
        Assert.Equal(SchedPolicy.RoundRobin, observed.Policy);
        Assert.Equal(CpuSet.Of(1), observed.Affinity);
        Assert.Equal(1, observed.Cpu);
        Assert.Equal("ProbeWorker", observed.Name);
        Assert.Equal("ProbeWorker", worker.Name);
        await host.StopAsync();
        Assert.Equal(RtTaskState.Completed, worker.Task!.State);
    }

    [Fact]
    public async Task RtWorker_Faults_StopsHostAndIsCountedFaulted()
    {
        using IHost host = TestHosts.Build(s => s.AddRtWorker<FaultingWorker>());
        await RunUntilTheHostStopsItselfAsync(host);

        ShutdownSummary summary = await host.Services.GetRequiredService<RtRuntimeAccessor>().Stopped.WaitAsync(TestHosts.Hang);
        Assert.Equal(1, summary.Faulted);
        Assert.True(summary.AllAccountedFor);
        Assert.IsType<InvalidOperationException>(host.Services.GetRequiredService<FaultingWorker>().Task!.Exception);
    }

    [Fact]
    public async Task RtWorker_Faults_RunAsyncReturns_WithTheFaultOnTheAccessor()
    {
        // .NET 10's RunAsync returns normally after a worker fault stopped the host: WorkerFault is how the
        // application learns of it (for its exit code).
        // (RunAsync disposes the host: what is read after it is resolved before.)
        using IHost host = TestHosts.Build(s => s.AddRtWorker<FaultingWorker>());
        var accessor = host.Services.GetRequiredService<RtRuntimeAccessor>();
        var worker = host.Services.GetRequiredService<FaultingWorker>();
        await host.RunAsync().WaitAsync(TestHosts.Hang);

        Assert.IsType<InvalidOperationException>(accessor.WorkerFault);
        Assert.Same(worker.Task!.Exception, accessor.WorkerFault);
    }

    [Fact]
    public async Task RtWorker_FaultsWhileTheHostStops_IsOnTheAccessorWhenStopAsyncReturns()
    {
        using IHost host = TestHosts.Build(s => s.AddRtWorker<ThrowsAtStopWorker>().AddRtWorker<CooperativeWorker>());
        await host.StartAsync();
        await host.Services.GetRequiredService<ThrowsAtStopWorker>().Started.Task.WaitAsync(TestHosts.Hang);
        var accessor = host.Services.GetRequiredService<RtRuntimeAccessor>();
        Assert.Null(accessor.WorkerFault);

        await host.StopAsync();

        Assert.IsType<IOException>(accessor.WorkerFault);
    }

    [Fact]
    public async Task RtWorker_StopsCleanly_NoFaultOnTheAccessor()
    {
        using IHost host = TestHosts.Build(s => s.AddRtWorker<CooperativeWorker>());
        await host.StartAsync();
        await host.StopAsync();

        var accessor = host.Services.GetRequiredService<RtRuntimeAccessor>();
        Assert.Equal(RtRuntimeState.Stopped, accessor.State);
        Assert.Null(accessor.WorkerFault);
    }

    [Fact]
    public async Task RtWorker_FaultsWithIgnoreBehavior_HostKeepsRunning()
    {
        using IHost host = TestHosts.Build(s =>
        {
            s.AddRtWorker<FaultingWorker>();
            s.AddRtWorker<CooperativeWorker>();
            s.Configure<HostOptions>(o => o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.Ignore);
        });
        await host.StartAsync();
        var faulting = host.Services.GetRequiredService<FaultingWorker>();
        await Assert.ThrowsAsync<InvalidOperationException>(() => faulting.Task!.AsTask().WaitAsync(TestHosts.Hang));

        // The other worker goes on: it keeps counting after the fault.
        var cooperative = host.Services.GetRequiredService<CooperativeWorker>();
        long before = Interlocked.Read(ref cooperative.Iterations);
        Assert.True(SpinWait.SpinUntil(() => Interlocked.Read(ref cooperative.Iterations) >= before + 10, TestHosts.Hang));

        Assert.False(host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested);
        Assert.Equal(RtRuntimeState.Running, host.Services.GetRequiredService<RtRuntimeAccessor>().State);
        await host.StopAsync();
    }

    [Fact]
    public async Task RtWorker_ThrowsOperationCanceledOnItsOwn_IsAFaultThatStopsTheHost()
    {
        // As for a BackgroundService: only a cancellation the host's stop caused is not an error.
        using IHost host = TestHosts.Build(s => s.AddRtWorker<SelfCancellingWorker>());
        await RunUntilTheHostStopsItselfAsync(host);
    }

    /// <summary>Starts the host, waits until it begins to stop on its own (a worker fault), then stops it.</summary>
    private static async Task RunUntilTheHostStopsItselfAsync(IHost host)
    {
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using CancellationTokenRegistration registration = lifetime.ApplicationStopping.Register(() => stopping.TrySetResult());

        await host.StartAsync();
        await stopping.Task.WaitAsync(TestHosts.Hang);
        await host.StopAsync();
    }
}
