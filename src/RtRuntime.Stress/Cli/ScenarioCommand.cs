using System.CommandLine;

namespace RtRuntime.Stress.Cli;

/// <summary>
/// A subcommand that runs one kind of <see cref="StressScenario"/>. To add a subcommand (e.g.
/// <c>hotplug</c> once CPU hotplug lands), write the scenario class, a <see cref="ScenarioCommand"/>
/// for it, and list it in <see cref="ScenarioCommands.Registered"/>.
/// </summary>
internal abstract class ScenarioCommand
{
    /// <summary>The subcommand's name.</summary>
    public abstract string Name { get; }

    /// <summary>One-line description for help.</summary>
    public abstract string Description { get; }

    /// <summary>The duration of one run when <c>--duration</c> is not given.</summary>
    public virtual TimeSpan DefaultDuration => TimeSpan.FromSeconds(5);

    /// <summary>The subcommand's own options.</summary>
    public virtual IEnumerable<Option> Options => [];

    /// <summary>Creates the scenario(s) from the parsed command line.</summary>
    public abstract IReadOnlyList<StressScenario> Create(ParseResult parseResult, CommonOptions common);
}
