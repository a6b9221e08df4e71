using System.CommandLine;

namespace RtRuntime.Stress.Cli;

/// <summary><c>rtstress pileup</c>: the migrate-disable pile-up under each balancing policy.</summary>
internal sealed class PileupCommand : ScenarioCommand
{
    private readonly Option<TimeSpan?> _window = new("--window")
    {
        Description = "How long the staircase tasks work each round, 10ms..1s (default 30ms; a round is the window + 20 ms).",
        CustomParser = r => CommonOptions.ParseDuration(r, "--window", TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(1), "10ms..1s"),
    };

    public override string Name => "pileup";

    public override string Description => "migrate-disable pile-up: low-priority pinned tasks preempted by higher ones on one CPU while others idle; lost bandwidth, migrations and latency per balancing policy (a fresh runtime each; --duration is per policy). Needs 2+ CPUs (default --cpus: max(2, cores)).";

    public override IEnumerable<Option> Options => [_window];

    public override IReadOnlyList<StressScenario> Create(ParseResult parseResult, CommonOptions common)
    {
        bool onePolicy = parseResult.GetResult(common.Policy) is { Implicit: false };
        return
        [
            new PileupScenario
            {
                Window = parseResult.GetValue(_window) ?? TimeSpan.FromMilliseconds(30),
                Policies = onePolicy ? [parseResult.GetValue(common.Policy)] : [BalancePolicy.WorkConserving, BalancePolicy.KernelFaithful, BalancePolicy.NoPushRunning],
            },
        ];
    }

    public override StressSettings Adjust(ParseResult parseResult, CommonOptions common, StressSettings settings, IReadOnlyList<StressScenario> scenarios)
    {
        if (settings.CpuCount is { } n && n < 2)
        {
            throw new BadArgumentException($"pileup needs --cpus 2 or more (a pile-up is tasks stuck on one CPU while another could run them); got {n}.");
        }

        return settings with { CpuCount = settings.CpuCount ?? Math.Max(2, settings.EffectiveCpuCount) };
    }
}
