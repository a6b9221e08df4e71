namespace RtRuntime.Stress.Cli;

/// <summary>One scenario of a CLI run with the settings it runs under.</summary>
internal sealed record SuiteEntry(StressScenario Scenario, StressSettings Settings);
