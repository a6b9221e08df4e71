using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace RtRuntime.Hosting.Tests;

public sealed class HealthCheckTests
{
    // Lost bandwidth and stall reports on a shared, noisy machine are not deterministic (a task's step
    // whose CPU thread the OS holds off past the 25 ms stall threshold is reported as a stall): the host
    // tests set their thresholds out of reach, and the rate and stall logic is tested through Evaluate
    // with fixed samples.
    private static IHost BuildHost(IDictionary<string, string?>? configuration = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["RtRuntime:HealthCheck:MaxLostBandwidthPerSecond"] = "10:00:00",
            ["RtRuntime:HealthCheck:MaxStallsPerWindow"] = "1000000",
        };
        foreach ((string key, string? value) in configuration ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return TestHosts.Build(settings, s => s.AddHealthChecks().AddRtRuntimeHealthCheck());
    }

    private static async Task<HealthReportEntry> CheckAsync(IHost host)
    {
        HealthReport report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        return report.Entries["rtruntime"];
    }

    [Fact]
    public async Task CheckHealth_NotStarted_Unhealthy()
    {
        using IHost host = BuildHost();

        HealthReportEntry entry = await CheckAsync(host);

        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains("NotStarted", entry.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckHealth_RunningThenStopped_HealthyThenUnhealthy()
    {
        using IHost host = BuildHost();
        await host.StartAsync();

        HealthReportEntry running = await CheckAsync(host);
        await host.StopAsync();
        HealthReportEntry stopped = await CheckAsync(host);

        Assert.Equal(HealthStatus.Healthy, running.Status);
        Assert.Equal(2, running.Data["cpus"]);
        Assert.Equal(HealthStatus.Unhealthy, stopped.Status);
        Assert.Contains("Stopped", stopped.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckHealth_BugReported_Degraded()
    {
        using IHost host = BuildHost(new Dictionary<string, string?> { ["RtRuntime:StrictChecks"] = "false" });
        await host.StartAsync();
        RtScheduler runtime = host.Services.GetRequiredService<RtScheduler>();

        // smp_processor_id() in preemptible code: a BUG report (not thrown: strict checks are off).
        await runtime.Spawn("buggy", 10, ctx =>
        {
            _ = ctx.CpuId;
            return ValueTask.CompletedTask;
        }).AsTask().WaitAsync(TestHosts.Hang);
        HealthReportEntry entry = await CheckAsync(host);

        Assert.Equal(1, runtime.BugCount);
        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Contains("1 BUG reports", entry.Description, StringComparison.Ordinal);
        await host.StopAsync();
    }

    [Fact]
    public async Task CheckHealth_BugsWithinThreshold_Healthy()
    {
        using IHost host = BuildHost(new Dictionary<string, string?>
        {
            ["RtRuntime:StrictChecks"] = "false",
            ["RtRuntime:HealthCheck:MaxBugReports"] = "5",
        });
        await host.StartAsync();
        RtScheduler runtime = host.Services.GetRequiredService<RtScheduler>();
        await runtime.Spawn("buggy", 10, ctx =>
        {
            _ = ctx.CpuId;
            return ValueTask.CompletedTask;
        }).AsTask().WaitAsync(TestHosts.Hang);

        HealthReportEntry entry = await CheckAsync(host);

        Assert.Equal(HealthStatus.Healthy, entry.Status);
        await host.StopAsync();
    }

    [Fact]
    public void Evaluate_LostBandwidthRateAboveThreshold_Degraded()
    {
        long t0 = Stopwatch.GetTimestamp();
        long t1 = t0 + (2 * Stopwatch.Frequency); // two seconds later
        var options = new RtRuntimeHealthCheckOptions { MaxLostBandwidthPerSecond = TimeSpan.FromMilliseconds(50) };

        HealthCheckResult result = RtRuntimeHealthCheck.Evaluate(
            new HealthSample(t0, TimeSpan.FromMilliseconds(100), 0),
            new HealthSample(t1, TimeSpan.FromMilliseconds(300), 0), // 200 ms over 2 s = 100 ms/s
            cpuCount: 2, onlineCpus: 2, liveTasks: 0, options);

        Assert.Equal(HealthStatus.Degraded, result.Status);
        Assert.Equal(100.0, (double)result.Data["lostBandwidthMsPerSecond"], precision: 6);
        Assert.Contains("lost bandwidth 100.0 ms/s", result.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_LostBandwidthRateWithinThreshold_Healthy()
    {
        long t0 = Stopwatch.GetTimestamp();
        long t1 = t0 + (4 * Stopwatch.Frequency);
        var options = new RtRuntimeHealthCheckOptions { MaxLostBandwidthPerSecond = TimeSpan.FromMilliseconds(50) };

        HealthCheckResult result = RtRuntimeHealthCheck.Evaluate(
            new HealthSample(t0, TimeSpan.Zero, 0),
            new HealthSample(t1, TimeSpan.FromMilliseconds(100), 0), // 25 ms/s
            cpuCount: 2, onlineCpus: 2, liveTasks: 3, options);

        Assert.Equal(HealthStatus.Healthy, result.Status);
        Assert.Equal(3L, result.Data["liveTasks"]);
    }

    [Fact]
    public void WindowStart_CheckSoonAfterANewWindowBegan_StillMeasuresOverAtLeastTheRateWindow()
    {
        // Checks every 0.5 s with a 1 s RateWindow: the check at 1.0 s closes the first window and starts one;
        // the check at 1.1 s measured over those 0.1 s, so a single 20 ms lost-bandwidth charge read as 200 ms/s.
        var options = new RtRuntimeHealthCheckOptions { MaxLostBandwidthPerSecond = TimeSpan.FromMilliseconds(50), RateWindow = TimeSpan.FromSeconds(1) };
        var check = new RtRuntimeHealthCheck(new RtRuntimeAccessor(), new StaticOptionsMonitor(options), "rtruntime"); // not started: its start is timestamp 0
        long f = Stopwatch.Frequency;
        HealthSample At(double seconds, double lostMs) => new((long)(seconds * f), TimeSpan.FromMilliseconds(lostMs), 0);

        Assert.Equal(0, check.WindowStart(At(0.5, 0), options.RateWindow).Timestamp);
        Assert.Equal(0, check.WindowStart(At(1.0, 0), options.RateWindow).Timestamp);
        HealthSample now = At(1.1, 20);
        HealthSample start = check.WindowStart(now, options.RateWindow);

        Assert.True(Stopwatch.GetElapsedTime(start.Timestamp, now.Timestamp) >= options.RateWindow, $"measured from {start.Timestamp / (double)f} s to 1.1 s");
        HealthCheckResult result = RtRuntimeHealthCheck.Evaluate(start, now, cpuCount: 2, onlineCpus: 2, liveTasks: 0, options);
        Assert.Equal(HealthStatus.Healthy, result.Status);

        // The next window closes at 2.0 s and measures from 1.0 s, as before.
        Assert.Equal(f, check.WindowStart(At(2.0, 20), options.RateWindow).Timestamp);
    }

    [Theory]
    [InlineData("MaxBugReports")]
    [InlineData("MaxStallsPerWindow")]
    public async Task StartAsync_NegativeHealthThreshold_FailsNamingKey(string key)
    {
        using IHost host = BuildHost(new Dictionary<string, string?> { ["RtRuntime:HealthCheck:" + key] = "-1" });

        var ex = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => host.StartAsync());

        Assert.Contains($"RtRuntime:HealthCheck:{key} = -1 is invalid", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_StallReportedInWindow_Degraded()
    {
        long t0 = Stopwatch.GetTimestamp();
        long t1 = t0 + Stopwatch.Frequency;

        HealthCheckResult result = RtRuntimeHealthCheck.Evaluate(
            new HealthSample(t0, TimeSpan.Zero, 0, StallCount: 2),
            new HealthSample(t1, TimeSpan.Zero, 0, StallCount: 3),
            cpuCount: 2, onlineCpus: 2, liveTasks: 1, new RtRuntimeHealthCheckOptions());

        Assert.Equal(HealthStatus.Degraded, result.Status);
        Assert.Contains("1 stall report(s)", result.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckHealth_CpuTakenOffline_UnhealthyUnlessAllowed()
    {
        using IHost host = BuildHost();
        await host.StartAsync();
        RtScheduler runtime = host.Services.GetRequiredService<RtScheduler>();

        await runtime.OfflineAsync(1).WaitAsync(TimeSpan.FromSeconds(30));
        HealthReportEntry offline = await CheckAsync(host);
        await runtime.OnlineAsync(1).WaitAsync(TimeSpan.FromSeconds(30));
        HealthReportEntry online = await CheckAsync(host);
        await host.StopAsync();

        Assert.Equal(HealthStatus.Unhealthy, offline.Status);
        Assert.Contains("1 CPU(s) offline", offline.Description, StringComparison.Ordinal);
        Assert.Equal(HealthStatus.Healthy, online.Status);
    }

    [Fact]
    public async Task CheckHealth_CpuOfflineAllowed_HealthyCountingOnlineCpus()
    {
        // Said "running on 2 CPUs" with one of the two offline, and its data had no online count.
        using IHost host = BuildHost(new Dictionary<string, string?> { ["RtRuntime:HealthCheck:AllowOfflineCpus"] = "true" });
        await host.StartAsync();
        RtScheduler runtime = host.Services.GetRequiredService<RtScheduler>();

        await runtime.OfflineAsync(1).WaitAsync(TimeSpan.FromSeconds(30));
        HealthReportEntry offline = await CheckAsync(host);
        await runtime.OnlineAsync(1).WaitAsync(TimeSpan.FromSeconds(30));
        HealthReportEntry online = await CheckAsync(host);
        await host.StopAsync();

        Assert.Equal(HealthStatus.Healthy, offline.Status);
        Assert.Equal("RtRuntime is running on 1 of 2 CPUs (1 offline, allowed).", offline.Description);
        Assert.Equal(2, offline.Data["cpus"]);
        Assert.Equal(1, offline.Data["onlineCpus"]);
        Assert.Equal("RtRuntime is running on 2 CPUs.", online.Description);
        Assert.Equal(2, online.Data["onlineCpus"]);
    }
}
