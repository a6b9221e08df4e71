using ScottPlot;

namespace RtRuntime.Stress.Reporting;

/// <summary>
/// Draws the report's plots with ScottPlot (headless, PNG and SVG): a histogram plot per scenario
/// (wakeup latency unless its <see cref="ScenarioResult.HistogramPlot"/> says otherwise) with one line per CPU (or histogram), bar charts, and a CPU timeline per group showing which
/// priority ran where.
/// </summary>
internal static class PlotWriter
{
    private const int MaxLines = 16;
    private const int Width = 900;
    private const int Height = 450;

    public static IReadOnlyDictionary<string, IReadOnlyList<PlotFile>> WriteAll(StressReport report, string folder, CancellationToken cancellationToken)
    {
        var all = new Dictionary<string, IReadOnlyList<PlotFile>>(StringComparer.Ordinal);
        foreach (ScenarioResult r in report.Results)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var files = new List<PlotFile>();
            string stem = Safe(r.Name);
            if (r.Histograms.Any(h => h.Count > 0))
            {
                files.Add(Histograms(r, folder, stem + "-" + Safe(r.HistogramPlot.FileSuffix)));
            }

            foreach (BarSeries b in r.Bars)
            {
                files.Add(Bars(b, folder, stem + "-" + Safe(b.Key)));
            }

            foreach (IGrouping<string, TimelineSegment> g in r.Timeline.GroupBy(s => s.Group))
            {
                files.Add(Timeline(r.Name, g.Key, g.ToList(), folder, stem + "-timeline-" + Safe(g.Key)));
            }

            all[r.Name] = files;
        }

        return all;
    }

    private static PlotFile Histograms(ScenarioResult r, string folder, string stem)
    {
        var plot = new Plot();
        foreach (LatencyHistogram h in r.Histograms.Where(h => h.Count > 0).Take(MaxLines))
        {
            IReadOnlyList<HistogramBucket> buckets = h.Buckets();
            double[] xs = buckets.Select(b => (b.LowerUs + b.UpperUs) / 2).ToArray();
            double[] ys = buckets.Select(b => b.Count > 0 ? Math.Log10(b.Count) : double.NaN).ToArray();
            var line = plot.Add.ScatterPoints(xs, ys);
            line.LegendText = $"{h.Label} (p99 {ScenarioResult.Format(h.P99Us)} µs, max {ScenarioResult.Format(h.MaxUs)} µs)";
            line.MarkerSize = 5;
        }

        plot.Title($"{r.Name}: {r.HistogramPlot.Title} (last bin: everything above 1.2 × p99.9)");
        plot.XLabel(r.HistogramPlot.AxisLabel);
        plot.YLabel("log10(samples)");
        plot.ShowLegend(Alignment.UpperRight);
        return Save(plot, folder, stem, $"{r.Name}: {r.HistogramPlot.Title} histograms");
    }

    private static PlotFile Bars(BarSeries b, string folder, string stem)
    {
        var plot = new Plot();
        var bars = new List<Bar>();
        var ticks = new List<Tick>();
        for (int i = 0; i < b.Values.Count; i++)
        {
            bars.Add(new Bar { Position = i, Value = double.IsFinite(b.Values[i]) ? b.Values[i] : 0, FillColor = Colors.Category10[i % Colors.Category10.Length], Label = ScenarioResult.Format(b.Values[i]) });
            ticks.Add(new Tick(i, b.Labels[i]));
        }

        var series = plot.Add.Bars(bars);
        series.ValueLabelStyle.FontSize = 14;
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
        plot.Axes.Margins(bottom: 0);
        plot.Title(b.Title);
        plot.YLabel(b.Unit);
        return Save(plot, folder, stem, b.Title);
    }

    private static PlotFile Timeline(string scenario, string group, List<TimelineSegment> segments, string folder, string stem)
    {
        var plot = new Plot();
        int[] priorities = segments.Select(s => s.Priority).Distinct().Order().ToArray();
        foreach (TimelineSegment s in segments)
        {
            int index = Array.IndexOf(priorities, s.Priority);
            Color color = Colors.Category10[index % Colors.Category10.Length];
            var rect = plot.Add.Rectangle(s.StartMs, Math.Max(s.EndMs, s.StartMs + 0.05), s.Cpu - 0.4, s.Cpu + 0.4);
            rect.FillColor = color;
            rect.LineWidth = 0;
        }

        foreach (int prio in priorities)
        {
            int index = Array.IndexOf(priorities, prio);
            string tasks = string.Join(",", segments.Where(s => s.Priority == prio).Select(s => s.Task).Distinct());
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = $"prio {prio} ({tasks})", FillColor = Colors.Category10[index % Colors.Category10.Length] });
        }

        int maxCpu = segments.Count == 0 ? 0 : segments.Max(s => s.Cpu);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, maxCpu + 1).Select(c => new Tick(c, "CPU " + c.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToArray());
        plot.Axes.SetLimitsY(maxCpu + 0.7, -0.7);
        plot.Title($"{scenario} [{group}]: which priority ran where");
        plot.XLabel(group == "virtual-time" ? "virtual time (ms)" : "time since the first round (ms)");
        plot.ShowLegend(Alignment.UpperRight);
        return Save(plot, folder, stem, $"{scenario}: CPU timeline under {group}");
    }

    private static PlotFile Save(Plot plot, string folder, string stem, string title)
    {
        string png = stem + ".png";
        string svg = stem + ".svg";
        // Rendered in memory and written atomically (ReportFile): an interrupted write leaves no truncated image.
        ReportFile.WriteAllBytes(Path.Combine(folder, png), plot.GetImageBytes(Width, Height, ImageFormat.Png));
        ReportFile.WriteAllBytes(Path.Combine(folder, svg), System.Text.Encoding.UTF8.GetBytes(plot.GetSvgXml(Width, Height)));
        return new PlotFile(title, png, svg);
    }

    internal static string Safe(string name) =>
        new(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-').ToArray());
}
