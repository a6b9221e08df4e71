namespace RtRuntime.Stress;

/// <summary>One bin of a latency distribution.</summary>
/// <param name="LowerUs">Lower edge in µs (inclusive).</param>
/// <param name="UpperUs">Upper edge in µs.</param>
/// <param name="Count">Samples in the bin.</param>
public readonly record struct HistogramBucket(double LowerUs, double UpperUs, long Count);
