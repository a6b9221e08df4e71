namespace RtRuntime.Stress.Cli;

/// <summary>The subcommands, in help order.</summary>
internal static class ScenarioCommands
{
    public static IReadOnlyList<ScenarioCommand> Registered { get; } =
    [
        new CyclicCommand(),
        new PileupCommand(),
        new HotplugCommand(),
        new PerCpuCommand(),
        new MixedCommand(),
        new InversionCommand(),
        new SimulateCommand(),
    ];
}
