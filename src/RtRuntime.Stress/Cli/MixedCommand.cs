using System.CommandLine;

namespace RtRuntime.Stress.Cli;

/// <summary><c>rtstress mixed</c>: the seeded soak with every invariant checked.</summary>
internal sealed class MixedCommand : ScenarioCommand
{
    private readonly Option<MixedInjection> _inject = new("--inject")
    {
        Description = "Break something on purpose to see the checker catch it: none, bug (a real BUG report), pinned (a fake CPU change inside a migrate-disabled section).",
        DefaultValueFactory = _ => MixedInjection.None,
        CustomParser = r => CommonOptions.ParseEnum(r, "--inject", MixedInjection.None),
    };

    private readonly Option<int> _maxLive = new("--max-live")
    {
        Description = "Most random tasks alive at once, 1..100000 (default 8 per CPU).",
        CustomParser = r => CommonOptions.ParseInteger(r, "--max-live", 1, 100_000, 0),
    };

    private readonly Option<bool> _noAffinity = new("--no-affinity-changes") { Description = "Do not change running tasks' affinity (on by default with 2+ CPUs)." };

    private readonly Option<bool> _noHotplug = new("--no-hotplug") { Description = "No CPU hotplug churn (on by default with 2+ CPUs)." };

    public override string Name => "mixed";

    public override string Description => "seeded random soak: priorities, affinities and affinity changes, CPU hotplug churn, guards, sleeps, yields, faults, cancellations, per-CPU counters; every invariant checked, latency probes per CPU.";

    public override IEnumerable<Option> Options => [_inject, _maxLive, _noAffinity, _noHotplug];

    public override IReadOnlyList<StressScenario> Create(ParseResult parseResult, CommonOptions common) =>
    [
        new MixedScenario
        {
            Inject = parseResult.GetValue(_inject),
            MaxLive = parseResult.GetValue(_maxLive),
            AffinityChanges = !parseResult.GetValue(_noAffinity),
            HotplugChurn = !parseResult.GetValue(_noHotplug),
        },
    ];
}
