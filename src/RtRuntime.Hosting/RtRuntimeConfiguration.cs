namespace RtRuntime.Hosting;

/// <summary>The configuration keys the hosting layer reads (all under <see cref="SectionName"/>).</summary>
public static class RtRuntimeConfiguration
{
    /// <summary>The section bound to <see cref="RtSchedulerOptions"/>: <c>RtRuntime</c>.</summary>
    public const string SectionName = "RtRuntime";

    /// <summary>The section of <see cref="RtRuntimeHostingOptions"/>: <c>RtRuntime:Hosting</c>.</summary>
    public const string HostingSectionName = SectionName + ":Hosting";

    /// <summary>The section of <see cref="RtRuntimeHealthCheckOptions"/>: <c>RtRuntime:HealthCheck</c>.</summary>
    public const string HealthCheckSectionName = SectionName + ":HealthCheck";

    /// <summary>The parent of each worker's section: <c>RtRuntime:Workers</c> (a worker named N reads <c>RtRuntime:Workers:N</c>).</summary>
    public const string WorkersSectionName = SectionName + ":Workers";

    /// <summary>The section a worker named <paramref name="workerName"/> is bound from.</summary>
    /// <param name="workerName">The worker's name.</param>
    /// <returns><c>RtRuntime:Workers:</c><paramref name="workerName"/>.</returns>
    public static string WorkerSectionName(string workerName) => WorkersSectionName + ":" + workerName;
}
