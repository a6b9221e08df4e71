using System.CommandLine;

namespace RtRuntime.Stress.Cli;

/// <summary><c>rtstress hotplug</c>: CPUs offline and online under load.</summary>
internal sealed class HotplugCommand : ScenarioCommand
{
    private readonly Option<int> _tasksPerCpu = new("--tasks-per-cpu")
    {
        Description = "Load tasks alive at once per CPU, 1..1000 (default 4).",
        DefaultValueFactory = _ => 4,
        CustomParser = r => CommonOptions.ParseInteger(r, "--tasks-per-cpu", 1, 1000, 4),
    };

    private readonly Option<int> _maxGap = new("--max-gap-ms")
    {
        Description = "Longest pause between two hotplug operations in ms, 0..1000 (default 2).",
        DefaultValueFactory = _ => 2,
        CustomParser = r => CommonOptions.ParseInteger(r, "--max-gap-ms", 0, 1000, 2),
    };

    public override string Name => "hotplug";

    public override string Description => "CPU hotplug under load: CPUs go offline and online while tasks run migrate-disabled sections, per-CPU counters and a per-CPU pool; offline wait times, every task accounted for, per-CPU sums exact. Needs 2+ CPUs (default --cpus: max(2, cores)).";

    public override IEnumerable<Option> Options => [_tasksPerCpu, _maxGap];

    public override IReadOnlyList<StressScenario> Create(ParseResult parseResult, CommonOptions common) =>
    [
        new HotplugScenario { TasksPerCpu = parseResult.GetValue(_tasksPerCpu), MaxGapMs = parseResult.GetValue(_maxGap) },
    ];

    public override StressSettings Adjust(ParseResult parseResult, CommonOptions common, StressSettings settings, IReadOnlyList<StressScenario> scenarios)
    {
        if (settings.CpuCount is { } n && n < 2)
        {
            throw new BadArgumentException($"hotplug needs --cpus 2 or more (one CPU must stay online); got {n}.");
        }

        return settings with { CpuCount = settings.CpuCount ?? Math.Max(2, settings.EffectiveCpuCount) };
    }
}
