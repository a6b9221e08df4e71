namespace RtRuntime.Hosting;

/// <summary>Thresholds of the RtRuntime health check (section <c>RtRuntime:HealthCheck</c>).</summary>
public sealed class RtRuntimeHealthCheckOptions
{
    /// <summary>
    /// Degraded above this much lost bandwidth per second of wall time, summed over all CPUs (time a CPU
    /// idled or ran lower-priority work while a higher-priority task allowed there waited). Measured
    /// between checks over windows of at least <see cref="RateWindow"/>. Default 50 ms per second.
    /// </summary>
    public TimeSpan MaxLostBandwidthPerSecond { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Degraded when the runtime has reported more kernel-style BUGs than this since it started (like a
    /// kernel taint, it stays degraded). Default 0: any BUG report degrades.
    /// </summary>
    public long MaxBugReports { get; set; }

    /// <summary>
    /// The shortest window the lost-bandwidth rate is measured over; checks closer together than this
    /// extend the current window instead of starting a new one, and a check soon after a new window
    /// began measures from the previous window's start (only in the runtime's first window can it be
    /// shorter: there is no older data). Default 1 s.
    /// </summary>
    public TimeSpan RateWindow { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Stall reports tolerated per <see cref="RateWindow"/> before Degraded (a task passing no preemption
    /// point for longer than the stall threshold, or a need_resched left pending longer than
    /// <c>ReschedLatencyWarn</c>: every <c>RtScheduler.StallDetected</c> report). Default 0.
    /// </summary>
    public long MaxStallsPerWindow { get; set; }

    /// <summary>When false (default), any offline CPU makes the check Unhealthy; set true if the application takes CPUs offline on purpose.</summary>
    public bool AllowOfflineCpus { get; set; }
}
