using HdrHistogram;

namespace RtRuntime.Compare;

/// <summary>A latency distribution in nanoseconds (HdrHistogram, 3 significant digits, up to 100 s), reported in µs.</summary>
internal sealed class Latency
{
    private readonly LongHistogram _h = new(100_000_000_000L, 3);

    public Latency(string label) => Label = label;

    public string Label { get; }

    /// <summary>Samples that were negative (woke early) and were recorded as 0.</summary>
    public long Early { get; private set; }

    public long Count => _h.TotalCount;

    public void Record(long ns)
    {
        if (ns < 0)
        {
            Early++;
            ns = 0;
        }

        _h.RecordValue(ns);
    }

    public void Record(long ns, long count)
    {
        if (count > 0)
        {
            _h.RecordValueWithCount(Math.Max(0, ns), count);
        }
    }

    public void Add(Latency other) => _h.Add(other._h);

    public double PercentileUs(double p) => Count == 0 ? double.NaN : _h.GetValueAtPercentile(p) / 1000.0;

    public double P50Us => PercentileUs(50);

    public double P99Us => PercentileUs(99);

    public double P999Us => PercentileUs(99.9);

    public double MaxUs => Count == 0 ? double.NaN : _h.GetMaxValue() / 1000.0;

    public double MeanUs => Count == 0 ? double.NaN : _h.GetMean() / 1000.0;

    public static Latency Merge(string label, IEnumerable<Latency> parts)
    {
        var all = new Latency(label);
        foreach (Latency p in parts)
        {
            all.Add(p);
            all.Early += p.Early;
        }

        return all;
    }
}
