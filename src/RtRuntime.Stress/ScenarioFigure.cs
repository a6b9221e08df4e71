namespace RtRuntime.Stress;

/// <summary>A named figure of a scenario run.</summary>
/// <param name="Key">Stable key, e.g. <c>p99_us</c> or <c>lost_bandwidth_pct.NoPushRunning</c>.</param>
/// <param name="Value">The value.</param>
/// <param name="Unit">Its unit (<c>us</c>, <c>%</c>, <c>count</c>, …).</param>
/// <param name="Summary">True when it belongs in the one-line summary.</param>
public sealed record ScenarioFigure(string Key, double Value, string Unit, bool Summary = false);
