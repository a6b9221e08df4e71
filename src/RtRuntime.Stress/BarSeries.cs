namespace RtRuntime.Stress;

/// <summary>One value per label, plotted as a bar chart (e.g. lost bandwidth per policy).</summary>
/// <param name="Key">Stable key, used in file names.</param>
/// <param name="Title">The chart's title.</param>
/// <param name="Unit">The values' unit.</param>
/// <param name="Labels">Bar labels.</param>
/// <param name="Values">Bar values, as many as <paramref name="Labels"/>.</param>
public sealed record BarSeries(string Key, string Title, string Unit, IReadOnlyList<string> Labels, IReadOnlyList<double> Values);
