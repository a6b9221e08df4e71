using HdrHistogram;

namespace RtRuntime.Stress;

/// <summary>
/// A latency histogram (HdrHistogram, 3 significant digits, 1 ns..1 h) with the figures cyclictest
/// prints: count, min, avg, p50, p99, p99.9, max, and overruns. Record in nanoseconds; figures are in
/// microseconds. Single writer: record from one task (or lock around it); read after the writer ended.
/// </summary>
public sealed class LatencyHistogram
{
    private const long HighestNs = 3_600_000_000_000L;

    private readonly LongHistogram _histogram = new(HighestNs, 3);
    private long _min = long.MaxValue;
    private long _count;
    private long _max;

    /// <summary>Creates an empty histogram named <paramref name="label"/>.</summary>
    /// <param name="label">What it measures, e.g. <c>cpu0</c>.</param>
    public LatencyHistogram(string label) => Label = label;

    /// <summary>What it measures, e.g. <c>cpu0</c>.</summary>
    public string Label { get; }

    /// <summary>Samples recorded.</summary>
    public long Count => Volatile.Read(ref _count);

    /// <summary>Samples that missed their period (counted by the recorder with <see cref="RecordOverrun"/>).</summary>
    public long Overruns { get; private set; }

    /// <summary>Samples below zero (a wakeup before its expected time), recorded as 0.</summary>
    public long Early { get; private set; }

    /// <summary>The largest sample so far in ns (safe to read while recording, for progress lines).</summary>
    public long MaxNs => Volatile.Read(ref _max);

    /// <summary>Smallest sample in µs (NaN when empty: nothing was measured, shown as "n/a" and written as null).</summary>
    public double MinUs => Count == 0 ? double.NaN : _min / 1000.0;

    /// <summary>Mean in µs (NaN when empty).</summary>
    public double MeanUs => Count == 0 ? double.NaN : _histogram.GetMean() / 1000.0;

    /// <summary>Median in µs.</summary>
    public double P50Us => Percentile(50);

    /// <summary>99th percentile in µs.</summary>
    public double P99Us => Percentile(99);

    /// <summary>99.9th percentile in µs.</summary>
    public double P999Us => Percentile(99.9);

    /// <summary>Largest sample in µs (NaN when empty).</summary>
    public double MaxUs => Count == 0 ? double.NaN : MaxNs / 1000.0;

    /// <summary>Records one latency in nanoseconds (negative values count as <see cref="Early"/> and record 0).</summary>
    /// <param name="ns">The latency.</param>
    public void Record(long ns)
    {
        if (ns < 0)
        {
            Early++;
            ns = 0;
        }

        if (ns > HighestNs)
        {
            ns = HighestNs;
        }

        _histogram.RecordValue(ns);
        if (ns < _min)
        {
            _min = ns;
        }

        if (ns > _max)
        {
            Volatile.Write(ref _max, ns);
        }

        Volatile.Write(ref _count, _count + 1);
    }

    /// <summary>Counts one overrun (a wakeup that missed at least one whole period).</summary>
    public void RecordOverrun() => Overruns++;

    /// <summary>The value at <paramref name="percentile"/> (0..100) in µs (NaN when empty: an empty histogram has no p99, not a perfect one).</summary>
    /// <param name="percentile">The percentile.</param>
    public double Percentile(double percentile) =>
        Count == 0 ? double.NaN : _histogram.GetValueAtPercentile(percentile) / 1000.0;

    /// <summary>Adds every sample of <paramref name="other"/> to this histogram.</summary>
    /// <param name="other">The histogram to merge.</param>
    public void Add(LatencyHistogram other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Count == 0)
        {
            return;
        }

        _histogram.Add(other._histogram);
        _min = Math.Min(_min, other._min);
        Volatile.Write(ref _max, Math.Max(_max, other._max));
        Volatile.Write(ref _count, _count + other._count);
        Overruns += other.Overruns;
        Early += other.Early;
    }

    /// <summary>
    /// The distribution in <paramref name="bins"/> equal bins from 0 to just above the p99.9, plus a last
    /// bin for everything above it: (lower µs, upper µs, count). Empty when nothing was recorded.
    /// </summary>
    /// <param name="bins">Bins below the tail (1..1000).</param>
    public IReadOnlyList<HistogramBucket> Buckets(int bins = 100)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bins, 1000);
        if (Count == 0)
        {
            return [];
        }

        double top = Math.Max(1.0, P999Us * 1.2);
        double width = Math.Max(0.001, top / bins);
        var counts = new long[bins + 1];
        foreach (var v in _histogram.RecordedValues())
        {
            double us = v.ValueIteratedTo / 1000.0;
            int i = us >= top ? bins : Math.Min(bins - 1, (int)(us / width));
            counts[i] += v.CountAddedInThisIterationStep;
        }

        var result = new List<HistogramBucket>(bins + 1);
        for (int i = 0; i < bins; i++)
        {
            result.Add(new HistogramBucket(i * width, (i + 1) * width, counts[i]));
        }

        result.Add(new HistogramBucket(top, Math.Max(top, MaxUs), counts[bins]));
        return result;
    }
}
