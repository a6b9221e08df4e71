namespace RtRuntime.Sample;

/// <summary>The sample's own settings (section <c>Sample</c>).</summary>
internal sealed class SampleOptions
{
    /// <summary>The sampler's period. Default 2 ms.</summary>
    public TimeSpan SamplePeriod { get; set; } = TimeSpan.FromMilliseconds(2);

    /// <summary>How often the housekeeping worker reports. Default 2 s.</summary>
    public TimeSpan ReportEvery { get; set; } = TimeSpan.FromSeconds(2);
}
