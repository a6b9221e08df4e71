namespace RtRuntime.Sample;

/// <summary>The sample's own settings (section <c>Sample</c>).</summary>
internal sealed class SampleOptions
{
    /// <summary>The sampler's period. Default 2 ms.</summary>
    public TimeSpan SamplePeriod { get; set; } = TimeSpan.FromMilliseconds(2);

    /// <summary>
    /// How long after its start the sampler records no latency or overrun (it still counts its samples):
    /// the first call of every method on a CPU thread is JIT-compiled there, and the first releases wait
    /// for those compilations, milliseconds each (10 overruns and a 12.6 ms latency in the first 2 s of
    /// one run, none after). Default 1 s; zero records everything.
    /// </summary>
    public TimeSpan WarmUp { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often the housekeeping worker reports. Default 2 s.</summary>
    public TimeSpan ReportEvery { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// When set, the housekeeping worker throws this long after its start: a worker fault on purpose, to see
    /// what one does (logged, the host stops, the sample exits 1). Default unset: it never does.
    /// </summary>
    public TimeSpan? FailAfter { get; set; }
}
