namespace RtRuntime.Stress.Cli;

/// <summary>The subcommands, in help order. Not yet: <c>hotplug</c>, <c>percpu</c>, <c>simulate FILE</c> (their runtime features are not in yet).</summary>
internal static class ScenarioCommands
{
    public static IReadOnlyList<ScenarioCommand> Registered { get; } =
    [
        new CyclicCommand(),
        new PileupCommand(),
        new MixedCommand(),
    ];
}
