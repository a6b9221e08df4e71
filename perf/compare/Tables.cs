namespace RtRuntime.Compare;

/// <summary>The latency tables every latency section uses.</summary>
internal static class Tables
{
    public static Table Latencies(string caption, IEnumerable<(Latency L, string How)> rows)
    {
        var t = new Table(caption, "variant", "how", "samples", "p50 µs", "p99 µs", "p99.9 µs", "max µs");
        foreach ((Latency l, string how) in rows)
        {
            t.Add(l.Label, how, Fmt.Int(l.Count), Fmt.Us(l.P50Us), Fmt.Us(l.P99Us), Fmt.Us(l.P999Us), Fmt.Us(l.MaxUs));
        }

        return t;
    }

    public static Table Ratios(string caption, IEnumerable<(Latency Rt, Latency? Baseline)> pairs)
    {
        var t = new Table(caption, "RtRuntime / baseline", "p50", "p99", "p99.9", "max");
        foreach ((Latency rt, Latency? b) in pairs)
        {
            if (b is null || b.Count == 0 || rt.Count == 0)
            {
                continue;
            }

            t.Add($"{rt.Label} / {b.Label}", Fmt.Ratio(rt.P50Us / b.P50Us), Fmt.Ratio(rt.P99Us / b.P99Us), Fmt.Ratio(rt.P999Us / b.P999Us), Fmt.Ratio(rt.MaxUs / b.MaxUs));
        }

        return t;
    }
}
