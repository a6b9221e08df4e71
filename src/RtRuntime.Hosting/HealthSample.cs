namespace RtRuntime.Hosting;

/// <summary>One reading of the runtime's health counters.</summary>
/// <param name="Timestamp">When it was read (<see cref="System.Diagnostics.Stopwatch"/> ticks).</param>
/// <param name="LostBandwidth">Lost bandwidth summed over all CPUs since start.</param>
/// <param name="BugCount">BUG reports since start.</param>
/// <param name="StallCount">Stall reports since start.</param>
internal readonly record struct HealthSample(long Timestamp, TimeSpan LostBandwidth, long BugCount, long StallCount = 0);
