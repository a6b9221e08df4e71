namespace RtRuntime.Stress;

/// <summary>A progress report from a running scenario.</summary>
/// <param name="Scenario">The scenario's name.</param>
/// <param name="Fraction">Done so far, 0..1.</param>
/// <param name="Status">The running figures, one short line.</param>
public readonly record struct ScenarioProgress(string Scenario, double Fraction, string Status);
