using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace RtRuntime.Hosting.Tests;

public sealed class HealthCheckRegistrationTests
{
    [Fact]
    public async Task TwoRegistrations_EachConfigure_AppliesToItsOwnCheckOnly()
    {
        // AddRtRuntimeHealthCheck(name, ..., configure): a liveness check that tolerates BUG reports and a
        // readiness check that does not. Before the fix every configure went to one shared options object,
        // so both checks used the last values.
        using IHost host = TestHosts.Build(
            new Dictionary<string, string?>
            {
                ["RtRuntime:StrictChecks"] = "false",
                ["RtRuntime:HealthCheck:MaxLostBandwidthPerSecond"] = "10:00:00", // out of reach on a noisy machine
                ["RtRuntime:HealthCheck:MaxStallsPerWindow"] = "1000000",          // likewise
            },
            s => s.AddHealthChecks()
                .AddRtRuntimeHealthCheck("strict")
                .AddRtRuntimeHealthCheck("tolerant", configure: o => o.MaxBugReports = 5));
        await host.StartAsync();
        RtScheduler runtime = host.Services.GetRequiredService<RtScheduler>();
        await runtime.Spawn("buggy", 10, ctx =>
        {
            _ = ctx.CpuId; // smp_processor_id() in preemptible code: one BUG report
            return ValueTask.CompletedTask;
        }).AsTask().WaitAsync(TestHosts.Hang);

        HealthReport report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        Assert.Equal(1, runtime.BugCount);
        Assert.True(report.Entries["strict"].Status == HealthStatus.Degraded, report.Entries["strict"].Description);
        Assert.True(report.Entries["tolerant"].Status == HealthStatus.Healthy, report.Entries["tolerant"].Description);
        await host.StopAsync();
    }
}
