using System.CommandLine;

namespace RtRuntime.Stress.Cli;

/// <summary><c>rtstress inversion</c>: priority inversion through an RtMutex (priority inheritance) and an RtSemaphore(1) (none).</summary>
internal sealed class InversionCommand : ScenarioCommand
{
    private readonly Option<TimeSpan?> _middleWork = new("--middle-work")
    {
        Description = "How long the middle task computes once the high task asked, 10us..1s (default 2ms).",
        CustomParser = r => CommonOptions.ParseDuration(r, "--middle-work", TimeSpan.FromMicroseconds(10), TimeSpan.FromSeconds(1), "10us..1s"),
    };

    private readonly Option<TimeSpan?> _holderRest = new("--holder-rest")
    {
        Description = "How much of the low holder's section is left when the high task asks, 0..1s (default 50us).",
        CustomParser = r => CommonOptions.ParseDuration(r, "--holder-rest", TimeSpan.Zero, TimeSpan.FromSeconds(1), "0..1s"),
    };

    private readonly Option<InversionInjection> _inject = new("--inject")
    {
        Description = "Break something on purpose to see the check catch it: none, noinheritance (the RtMutex rounds take the RtSemaphore(1), which lends no priority, and are checked as RtMutex rounds).",
        DefaultValueFactory = _ => InversionInjection.None,
        CustomParser = r => CommonOptions.ParseEnum(r, "--inject", InversionInjection.None),
    };

    public override string Name => "inversion";

    public override string Description => "priority inversion in rounds on each CPU in turn: a low task holds a lock, a middle task preempts it, a high task asks for the lock; an RtMutex (priority inheritance) and an RtSemaphore(1) (none) alternate. The high task's waits are reported; under the RtMutex the middle task must make no progress while the high task waits.";

    public override IEnumerable<Option> Options => [_inject, _middleWork, _holderRest];

    public override IReadOnlyList<StressScenario> Create(ParseResult parseResult, CommonOptions common) =>
    [
        new InversionScenario
        {
            MiddleWork = parseResult.GetValue(_middleWork) ?? TimeSpan.FromMilliseconds(2),
            HolderRest = parseResult.GetValue(_holderRest) ?? TimeSpan.FromMicroseconds(50),
            Inject = parseResult.GetValue(_inject),
        },
    ];
}
