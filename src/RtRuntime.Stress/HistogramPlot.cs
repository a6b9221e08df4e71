namespace RtRuntime.Stress;

/// <summary>How the report plots a scenario's <see cref="ScenarioResult.Histograms"/>.</summary>
/// <param name="FileSuffix">The plot's file name after <c>&lt;scenario&gt;-</c>, without extension, e.g. <c>latency</c>.</param>
/// <param name="Title">What the histograms measure, for the plot's title (after <c>&lt;scenario&gt;: </c>), e.g. <c>wakeup latency</c>.</param>
/// <param name="AxisLabel">The x axis label, with its unit (µs), e.g. <c>latency (µs)</c>.</param>
public sealed record HistogramPlot(string FileSuffix, string Title, string AxisLabel)
{
    /// <summary>The default: wakeup latency per CPU, <c>&lt;scenario&gt;-latency.png</c>.</summary>
    public static HistogramPlot WakeupLatency { get; } = new("latency", "wakeup latency", "latency (µs)");
}
