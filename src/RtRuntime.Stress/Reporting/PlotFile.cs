namespace RtRuntime.Stress.Reporting;

/// <summary>A plot written in both formats, by file name relative to the report folder.</summary>
internal sealed record PlotFile(string Title, string Png, string Svg);
