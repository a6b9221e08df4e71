using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using RtRuntime.Tasks;

namespace RtRuntime.Hosting.Tests;

/// <summary>Two hosts in one process (two tenants, or a test host next to the application's): each owns its own runtime.</summary>
public sealed class SecondHostTests
{
    [Fact]
    public async Task TwoHosts_EachRunsItsOwnRuntime_AndStoppingOneLeavesTheOtherRunning()
    {
        using IHost first = TestHosts.Build(s => s.AddRtWorker<CooperativeWorker>().AddHealthChecks().AddRtRuntimeHealthCheck());
        using IHost second = TestHosts.Build(s => s.AddRtWorker<CooperativeWorker>().AddHealthChecks().AddRtRuntimeHealthCheck());
        await first.StartAsync();
        await second.StartAsync();
        RtScheduler firstRuntime = first.Services.GetRequiredService<RtScheduler>();
        RtScheduler secondRuntime = second.Services.GetRequiredService<RtScheduler>();
        Assert.NotSame(firstRuntime, secondRuntime);
        CooperativeWorker firstWorker = first.Services.GetRequiredService<CooperativeWorker>();
        CooperativeWorker secondWorker = second.Services.GetRequiredService<CooperativeWorker>();
        Assert.NotSame(firstWorker, secondWorker);
        await Task.WhenAll(firstWorker.Started.Task, secondWorker.Started.Task).WaitAsync(TestHosts.Hang);

        await first.StopAsync();

        Assert.Equal(RtRuntimeState.Stopped, first.Services.GetRequiredService<RtRuntimeAccessor>().State);
        Assert.Equal(RtRuntimeState.Running, second.Services.GetRequiredService<RtRuntimeAccessor>().State);
        Assert.Equal(HealthStatus.Unhealthy, (await first.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Status);
        Assert.Equal(HealthStatus.Healthy, (await second.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Status);

        // The second runtime still takes work, and its worker still runs.
        long before = Interlocked.Read(ref secondWorker.Iterations);
        RtTask<int> task = secondRuntime.Spawn("after-the-first-stopped", 10, async ctx =>
        {
            await ctx.PreemptionPoint();
            return 7;
        });
        Assert.Equal(7, await task.AsTask().WaitAsync(TestHosts.Hang));
        Assert.True(SpinWait.SpinUntil(() => Interlocked.Read(ref secondWorker.Iterations) > before, TestHosts.Hang));

        await second.StopAsync();
        ShutdownSummary summary = await second.Services.GetRequiredService<RtRuntimeAccessor>().Stopped.WaitAsync(TestHosts.Hang);
        Assert.Equal(2, summary.Accepted); // its own worker and task, none of the first host's
        Assert.True(summary.AllAccountedFor);
        Assert.Equal(1, (await first.Services.GetRequiredService<RtRuntimeAccessor>().Stopped).Accepted);
    }
}
