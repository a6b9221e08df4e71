using System.CommandLine;
using RtRuntime.Stress.Cli;

namespace RtRuntime.Stress;

/// <summary>
/// The <c>rtstress</c> command line, callable in-process: <see cref="RunAsync(string[], TextWriter?, TextWriter?, CancellationToken)"/> parses the arguments,
/// runs the default suite or a subcommand, and returns the exit code (0 every invariant held,
/// 1 an invariant failed, 2 bad arguments).
/// </summary>
public static class StressCli
{
    /// <summary>Exit code: every invariant held.</summary>
    public const int ExitPassed = 0;

    /// <summary>Exit code: an invariant failed (each failure is printed with its seed and reproduce command).</summary>
    public const int ExitInvariantFailed = 1;

    /// <summary>Exit code: bad arguments (the usage line and what was wrong are printed on stderr).</summary>
    public const int ExitBadArguments = 2;

    /// <summary>Exit code: interrupted (Ctrl+C, SIGINT's 128 + 2); the report holds what ran, the interrupted scenario marked as not completed.</summary>
    public const int ExitInterrupted = 130;

    /// <summary>Runs <c>rtstress</c> with <paramref name="args"/>.</summary>
    /// <param name="args">The command-line arguments.</param>
    /// <param name="output">Standard output (default: the process's).</param>
    /// <param name="error">Standard error (default: the process's).</param>
    /// <param name="cancellationToken">Stops the run early.</param>
    /// <returns>The exit code.</returns>
    public static Task<int> RunAsync(string[] args, TextWriter? output = null, TextWriter? error = null, CancellationToken cancellationToken = default) =>
        RunAsync(args, output, error, cancellationToken, CancellationToken.None);

    /// <summary>Runs <c>rtstress</c> with <paramref name="args"/>; the executable's entry point (see <see cref="Cli.InterruptHandler"/>).</summary>
    /// <param name="args">The command-line arguments.</param>
    /// <param name="output">Standard output (default: the process's).</param>
    /// <param name="error">Standard error (default: the process's).</param>
    /// <param name="cancellationToken">Stops the run early (the first Ctrl+C); the report of what ran is still written.</param>
    /// <param name="reportCancellationToken">Stops the report write (the second Ctrl+C); the files already written are complete.</param>
    /// <returns>The exit code.</returns>
    internal static async Task<int> RunAsync(string[] args, TextWriter? output, TextWriter? error, CancellationToken cancellationToken, CancellationToken reportCancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        var io = new CliOutput(output ?? Console.Out, error ?? Console.Error, output is null);
        var common = new CommonOptions();
        RootCommand root = BuildRoot(common, io, reportCancellationToken);
        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            Command command = parsed.CommandResult.Command;
            await io.Error.WriteLineAsync(UsageLine(command == root ? null : ScenarioCommands.Registered.FirstOrDefault(c => c.Name == command.Name))).ConfigureAwait(false);
            foreach (var e in parsed.Errors)
            {
                await io.Error.WriteLineAsync("error: " + e.Message).ConfigureAwait(false);
            }

            return ExitBadArguments;
        }

        // ProcessTerminationTimeout null: System.CommandLine does not handle SIGINT/SIGTERM itself. The caller's tokens
        // carry the Ctrl+C policy (InterruptHandler); its own handler would cancel the signal's default action (so a
        // third Ctrl+C could not end the process) and end the invocation 2 s after a Ctrl+C, before the report is written.
        return await parsed.InvokeAsync(new InvocationConfiguration { Output = io.Out, Error = io.Error, ProcessTerminationTimeout = null }, cancellationToken).ConfigureAwait(false);
    }

    private static RootCommand BuildRoot(CommonOptions common, CliOutput io, CancellationToken reportCancellationToken)
    {
        var root = new RootCommand(
            "rtstress: stress-tests RtRuntime the way cyclictest and stress-ng test a kernel. With no command it runs the default suite "
            + "(cyclic idle, cyclic under load, pileup under the three policies, hotplug, percpu, mixed, inversion) in about a minute, prints a summary table and writes a report folder.");
        foreach (Option option in common.All)
        {
            root.Options.Add(option);
        }

        common.AddValidators();
        root.SetAction((pr, ct) => SuiteRunner.RunAsync(pr, common, DefaultSuite(pr, common), io, UsageLine(null), ct, reportCancellationToken));
        foreach (ScenarioCommand sc in ScenarioCommands.Registered)
        {
            var command = new Command(sc.Name, sc.Description);
            foreach (Option option in sc.Options)
            {
                command.Options.Add(option);
            }

            foreach (Argument argument in sc.Arguments)
            {
                command.Arguments.Add(argument);
            }

            ScenarioCommand captured = sc;
            command.SetAction(async (pr, ct) =>
            {
                IReadOnlyList<StressScenario> scenarios;
                StressSettings settings;
                try
                {
                    scenarios = captured.Create(pr, common);
                    settings = captured.Adjust(pr, common, common.ToSettings(pr, captured.DefaultDuration), scenarios);
                }
                catch (BadArgumentException ex)
                {
                    await io.Error.WriteLineAsync(UsageLine(captured)).ConfigureAwait(false);
                    await io.Error.WriteLineAsync("error: " + ex.Message).ConfigureAwait(false);
                    return ExitBadArguments;
                }

                return await SuiteRunner.RunAsync(pr, common, scenarios.Select(s => new SuiteEntry(s, settings)).ToList(), io, UsageLine(captured), ct, reportCancellationToken).ConfigureAwait(false);
            });
            root.Subcommands.Add(command);
        }

        return root;
    }

    /// <summary>The usage line printed before a bad-argument error: the subcommand's (<paramref name="command"/>), or the root's when null.</summary>
    private static string UsageLine(ScenarioCommand? command) => command is null
        ? "usage: rtstress [command] [options]    (see 'rtstress --help')"
        : $"usage: rtstress {command.Usage}    (see 'rtstress {command.Name} --help')";

    /// <summary>The default suite: each scenario sized so the whole takes about a minute (or each gets --duration).</summary>
    private static List<SuiteEntry> DefaultSuite(ParseResult pr, CommonOptions common)
    {
        StressSettings settings = common.ToSettings(pr, TimeSpan.FromSeconds(10));
        bool explicitDuration = pr.GetValue(common.Duration) is not null;
        StressSettings For(TimeSpan d) => explicitDuration ? settings : settings with { Duration = d };
        var suite = new List<SuiteEntry>
        {
            new(new CyclicScenario("cyclic-idle"), For(TimeSpan.FromSeconds(7))),
            new(new CyclicScenario("cyclic-load") { Load = true }, For(TimeSpan.FromSeconds(7))),
        };
        if (settings.EffectiveCpuCount >= 2)
        {
            // A pile-up and hotplug both need a second CPU.
            // --policy given: pileup runs that policy only, as `rtstress pileup --policy` does (else it compares all three).
            PileupScenario pileup = pr.GetResult(common.Policy) is { Implicit: false } ? new PileupScenario { Policies = [settings.Policy] } : new PileupScenario();
            suite.Add(new(pileup, For(TimeSpan.FromSeconds(5))));
            suite.Add(new(new HotplugScenario(), For(TimeSpan.FromSeconds(6))));
        }

        suite.Add(new(new PerCpuScenario(), For(TimeSpan.FromSeconds(4))));
        suite.Add(new(new MixedScenario(), For(TimeSpan.FromSeconds(10))));
        suite.Add(new(new InversionScenario(), For(TimeSpan.FromSeconds(3))));
        return suite;
    }
}
