using System.Globalization;
using ScottPlot;

namespace RtRuntime.Compare;

/// <summary>The report's PNG plots (ScottPlot, headless): latency percentile curves and bar charts.</summary>
internal static class Plots
{
    private const int Width = 1000;
    private const int Height = 520;
    private static readonly double[] s_percentiles = [50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99];

    /// <summary>
    /// Latency against percentile, both on log axes: x = −log10(1 − p) so p90, p99, p99.9 are evenly
    /// spaced and the last point of each line is the maximum; y = log10(µs) labelled in µs.
    /// </summary>
    public static string Percentiles(string title, IEnumerable<Latency> series, string dir, string stem)
    {
        var plot = new Plot();
        double maxX = -Math.Log10(1 - (99.99 / 100));
        int i = 0;
        foreach (Latency l in series.Where(s => s.Count > 0))
        {
            var xs = new List<double>();
            var ys = new List<double>();
            foreach (double p in s_percentiles)
            {
                xs.Add(-Math.Log10(1 - (p / 100)));
                ys.Add(Math.Log10(Math.Max(0.05, l.PercentileUs(p))));
            }

            xs.Add(maxX + 0.5);
            ys.Add(Math.Log10(Math.Max(0.05, l.MaxUs)));
            var line = plot.Add.Scatter(xs.ToArray(), ys.ToArray());
            line.LegendText = $"{l.Label} (p99 {Fmt.Us(l.P99Us)} µs)";
            line.Color = Colors.Category10[i++ % Colors.Category10.Length];
            line.MarkerSize = 6;
            line.LineWidth = 2;
        }

        Tick[] xticks = new[] { 50.0, 90, 99, 99.9, 99.99 }
            .Select(p => new Tick(-Math.Log10(1 - (p / 100)), "p" + p.ToString(CultureInfo.InvariantCulture)))
            .Append(new Tick(maxX + 0.5, "max"))
            .ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(xticks);
        var yticks = new List<Tick>();
        foreach (double us in new[] { 0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000, 3000, 10_000, 30_000, 100_000 })
        {
            yticks.Add(new Tick(Math.Log10(us), us.ToString(CultureInfo.InvariantCulture)));
        }

        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(yticks.ToArray());
        plot.Title(title);
        plot.XLabel("percentile");
        plot.YLabel("latency (µs, log scale)");
        plot.ShowLegend(Alignment.UpperLeft);
        return Save(plot, dir, stem);
    }

    /// <summary>A horizontal-label bar chart of one value per label.</summary>
    public static string Bars(string title, string unit, IReadOnlyList<string> labels, IReadOnlyList<double> values, string dir, string stem)
    {
        var plot = new Plot();
        var bars = new List<Bar>();
        var ticks = new List<Tick>();
        for (int i = 0; i < values.Count; i++)
        {
            double v = double.IsNaN(values[i]) ? 0 : values[i];
            bars.Add(new Bar { Position = i, Value = v, FillColor = Colors.Category10[i % Colors.Category10.Length], Label = Fmt.Num(values[i]) });
            ticks.Add(new Tick(i, labels[i]));
        }

        var series = plot.Add.Bars(bars);
        series.ValueLabelStyle.FontSize = 13;
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
        plot.Axes.Bottom.TickLabelStyle.Rotation = -20;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
        plot.Axes.Bottom.MinimumSize = 110; // room for the rotated labels (ScottPlot sizes the axis for unrotated ones)
        plot.Axes.Margins(bottom: 0);
        plot.Title(title);
        plot.YLabel(unit);
        return Save(plot, dir, stem);
    }

    private static string Save(Plot plot, string dir, string stem)
    {
        Directory.CreateDirectory(dir);
        string file = stem + ".png";
        plot.SavePng(Path.Combine(dir, file), Width, Height);
        return file;
    }
}
