using System.CommandLine;

namespace RtRuntime.Stress.Cli;

/// <summary>
/// A subcommand that runs one kind of <see cref="StressScenario"/>. To add a subcommand, write the
/// scenario class, a <see cref="ScenarioCommand"/> for it, and list it in <see cref="ScenarioCommands.Registered"/>.
/// </summary>
internal abstract class ScenarioCommand
{
    /// <summary>The subcommand's name.</summary>
    public abstract string Name { get; }

    /// <summary>The usage line after <c>rtstress</c>.</summary>
    public virtual string Usage => Name + " [options]";

    /// <summary>One-line description for help.</summary>
    public abstract string Description { get; }

    /// <summary>The duration of one run when <c>--duration</c> is not given.</summary>
    public virtual TimeSpan DefaultDuration => TimeSpan.FromSeconds(5);

    /// <summary>The subcommand's own options.</summary>
    public virtual IEnumerable<Option> Options => [];

    /// <summary>The subcommand's positional arguments.</summary>
    public virtual IEnumerable<Argument> Arguments => [];

    /// <summary>Creates the scenario(s) from the parsed command line.</summary>
    /// <exception cref="BadArgumentException">The arguments cannot be used (exit code 2).</exception>
    public abstract IReadOnlyList<StressScenario> Create(ParseResult parseResult, CommonOptions common);

    /// <summary>Adjusts the common settings for this command (after <see cref="Create"/>).</summary>
    /// <exception cref="BadArgumentException">The settings do not suit the command (exit code 2).</exception>
    public virtual StressSettings Adjust(ParseResult parseResult, CommonOptions common, StressSettings settings, IReadOnlyList<StressScenario> scenarios) => settings;
}
