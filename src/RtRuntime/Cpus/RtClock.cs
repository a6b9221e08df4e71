using System.Diagnostics;

namespace RtRuntime.Cpus;

/// <summary>The runtime's monotonic clock in nanoseconds (CLOCK_MONOTONIC through <see cref="Stopwatch"/>).</summary>
public static class RtClock
{
    private static readonly bool s_isNanoseconds = Stopwatch.Frequency == 1_000_000_000;
    private static readonly double s_nsPerTick = 1e9 / Stopwatch.Frequency;

    /// <summary>Now, in nanoseconds since an arbitrary fixed point.</summary>
    public static long NowNs()
    {
        long ticks = Stopwatch.GetTimestamp();
        return s_isNanoseconds ? ticks : (long)(ticks * s_nsPerTick);
    }

    /// <summary>A duration in nanoseconds, saturated to <see cref="long.MinValue"/>..<see cref="long.MaxValue"/> (durations beyond about 292 years).</summary>
    public static long ToNs(TimeSpan span) =>
        span.Ticks > long.MaxValue / 100 ? long.MaxValue : span.Ticks < long.MinValue / 100 ? long.MinValue : span.Ticks * 100;
}
