using System.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace RtRuntime.Hosting;

/// <summary>
/// The RtRuntime health check: Unhealthy unless the runtime is running, or when a CPU is offline
/// (unless allowed); Degraded when BUG reports, stall reports or the lost-bandwidth rate exceed
/// <see cref="RtRuntimeHealthCheckOptions"/>; Healthy otherwise.
/// A singleton: it keeps the start of the current lost-bandwidth window between checks.
/// </summary>
internal sealed class RtRuntimeHealthCheck : IHealthCheck
{
    private readonly RtRuntimeAccessor _accessor;
    private readonly IOptionsMonitor<RtRuntimeHealthCheckOptions> _options;
    private readonly string _name;
    private readonly Lock _lock = new();
    private HealthSample? _windowStart;
    private HealthSample? _previousWindowStart; // the start of the last window that reached RateWindow

    public RtRuntimeHealthCheck(RtRuntimeAccessor accessor, IOptionsMonitor<RtRuntimeHealthCheckOptions> options, string name)
    {
        _accessor = accessor;
        _options = options;
        _name = name;
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        RtRuntimeState state = _accessor.State;
        if (state != RtRuntimeState.Running || !_accessor.TryGetRuntime(out RtScheduler? runtime))
        {
            return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, $"RtRuntime is {state}."));
        }

        RtRuntimeHealthCheckOptions options = _options.Get(_name); // this registration's options
        int online = runtime.OnlineCpus.Count;
        if (online < runtime.CpuCount && !options.AllowOfflineCpus)
        {
            return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus,
                $"RtRuntime has {runtime.CpuCount - online} CPU(s) offline (online CPUs: {runtime.OnlineCpus}) and AllowOfflineCpus is false."));
        }

        HealthSample now = Read(runtime);
        HealthSample start = WindowStart(now, options.RateWindow);
        return Task.FromResult(Evaluate(start, now, runtime.CpuCount, online, runtime.LiveTasks, options)); // online: a CPU allowed offline runs nothing
    }

    /// <summary>
    /// The sample a check at <paramref name="now"/> measures from: the current window's start once the
    /// window is at least <paramref name="rateWindow"/> long (a new window then starts at
    /// <paramref name="now"/>); before that, the previous window's start, so that a check soon after a
    /// new window began still measures over at least <paramref name="rateWindow"/> (only in the runtime's
    /// first window is there no older sample than its start).
    /// </summary>
    internal HealthSample WindowStart(HealthSample now, TimeSpan rateWindow)
    {
        lock (_lock)
        {
            HealthSample current = _windowStart ??= new HealthSample(_accessor.StartTimestamp, TimeSpan.Zero, 0, 0);
            if (Stopwatch.GetElapsedTime(current.Timestamp, now.Timestamp) >= rateWindow)
            {
                _previousWindowStart = current;
                _windowStart = now;
                return current;
            }

            return _previousWindowStart ?? current;
        }
    }

    /// <summary>
    /// The verdict for the window from <paramref name="start"/> to <paramref name="now"/> (pure: no clock, no runtime).
    /// <paramref name="cpuCount"/> is the runtime's CPUs, <paramref name="onlineCpus"/> those online (fewer only when
    /// <see cref="RtRuntimeHealthCheckOptions.AllowOfflineCpus"/> let the check get here).
    /// </summary>
    internal static HealthCheckResult Evaluate(HealthSample start, HealthSample now, int cpuCount, int onlineCpus, long liveTasks, RtRuntimeHealthCheckOptions options)
    {
        TimeSpan elapsed = Stopwatch.GetElapsedTime(start.Timestamp, now.Timestamp);
        TimeSpan lost = now.LostBandwidth - start.LostBandwidth;
        TimeSpan lostPerSecond = elapsed > TimeSpan.Zero ? lost / elapsed.TotalSeconds : TimeSpan.Zero;
        var data = new Dictionary<string, object>
        {
            ["cpus"] = cpuCount,
            ["onlineCpus"] = onlineCpus,
            ["liveTasks"] = liveTasks,
            ["bugReports"] = now.BugCount,
            ["lostBandwidthMsPerSecond"] = lostPerSecond.TotalMilliseconds,
        };

        var reasons = new List<string>();
        if (now.BugCount > options.MaxBugReports)
        {
            reasons.Add($"{now.BugCount} BUG reports since start (threshold {options.MaxBugReports})");
        }

        long stalls = now.StallCount - start.StallCount;
        data["stallsInWindow"] = stalls;
        if (stalls > options.MaxStallsPerWindow)
        {
            reasons.Add($"{stalls} stall report(s) in the window (threshold {options.MaxStallsPerWindow})");
        }

        if (lostPerSecond > options.MaxLostBandwidthPerSecond)
        {
            reasons.Add($"lost bandwidth {lostPerSecond.TotalMilliseconds:F1} ms/s (threshold {options.MaxLostBandwidthPerSecond.TotalMilliseconds:F1} ms/s)");
        }

        return reasons.Count == 0
            ? HealthCheckResult.Healthy(onlineCpus == cpuCount
                ? $"RtRuntime is running on {cpuCount} CPUs."
                : $"RtRuntime is running on {onlineCpus} of {cpuCount} CPUs ({cpuCount - onlineCpus} offline, allowed).", data)
            : HealthCheckResult.Degraded("RtRuntime is degraded: " + string.Join("; ", reasons) + ".", data: data);
    }

    private static HealthSample Read(RtScheduler runtime)
    {
        TimeSpan lost = TimeSpan.Zero;
        for (int cpu = 0; cpu < runtime.CpuCount; cpu++)
        {
            lost += runtime.LostBandwidth(cpu);
        }

        return new HealthSample(Stopwatch.GetTimestamp(), lost, runtime.BugCount, runtime.StallCount);
    }
}
