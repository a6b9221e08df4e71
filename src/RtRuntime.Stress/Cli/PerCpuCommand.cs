using System.CommandLine;

namespace RtRuntime.Stress.Cli;

/// <summary><c>rtstress percpu</c>: per-CPU counters and the per-CPU pool against the shared alternatives.</summary>
internal sealed class PerCpuCommand : ScenarioCommand
{
    public override string Name => "percpu";

    public override string Description => "per-CPU data vs shared: PerCpuCounter vs one Interlocked counter vs ThreadLocal<long>, PerCpuPool vs ConcurrentBag, ArrayPool.Shared, DefaultObjectPool; one task per CPU, ops/s and ratios (reported, not asserted); sums and pool accounting exact.";

    public override IReadOnlyList<StressScenario> Create(ParseResult parseResult, CommonOptions common) => [new PerCpuScenario()];
}
