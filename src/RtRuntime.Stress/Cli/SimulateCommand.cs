using System.CommandLine;
using System.Globalization;
using RtRuntime.Simulation;

namespace RtRuntime.Stress.Cli;

/// <summary><c>rtstress simulate FILE</c>: a scripted scenario in the deterministic simulator.</summary>
internal sealed class SimulateCommand : ScenarioCommand
{
    private readonly Argument<string> _file = new("FILE") { Description = "The scenario file (JSON; schema in docs/simulator.md, examples in docs/examples)." };

    private readonly Option<long> _maxEvents = new("--max-events")
    {
        Description = "Stop the simulation after this many events, 1..50000000 (default 10000000).",
        DefaultValueFactory = _ => SimulateScenario.DefaultMaxEvents,
        CustomParser = r => CommonOptions.ParseInteger(r, "--max-events", 1L, 50_000_000L, SimulateScenario.DefaultMaxEvents),
    };

    /// <summary>How many trace lines the console shows (<c>--trace-lines</c>; the report folder has all of them).</summary>
    public static Option<int> TraceLines { get; } = new("--trace-lines")
    {
        Description = "Trace lines printed on the console, 0..1000000 (default 200; the report folder holds the whole trace).",
        DefaultValueFactory = _ => 200,
        CustomParser = r => CommonOptions.ParseInteger(r, "--trace-lines", 0, 1_000_000, 200),
    };

    public override string Name => "simulate";

    public override string Usage => "simulate FILE [options]";

    public override string Description => "runs a scripted scenario (JSON file) in the deterministic simulator: trace, per-task run/wait/migrations, per-CPU busy/idle/lost bandwidth, invariant violations. --seed permutes same-time events (default 0: in scheduling order); --policy, --model, --cpus override the file.";

    public override IEnumerable<Option> Options => [_maxEvents, TraceLines];

    public override IEnumerable<Argument> Arguments => [_file];

    public override IReadOnlyList<StressScenario> Create(ParseResult parseResult, CommonOptions common)
    {
        string file = parseResult.GetValue(_file) ?? string.Empty;
        RequireFilePath(file);

        SimScenario loaded;
        try
        {
            loaded = SimScenario.Load(file);
        }
        catch (SimScenarioException ex)
        {
            throw new BadArgumentException($"{file}: {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new BadArgumentException($"{file}: cannot read the scenario file: {ex.Message}", ex);
        }

        var extra = new List<string>();
        bool policy = parseResult.GetResult(common.Policy) is { Implicit: false };
        bool model = parseResult.GetResult(common.Model) is { Implicit: false };
        int? cpus = parseResult.GetValue(common.Cpus);
        SimScenario scenario = loaded;
        if (policy || model || cpus is not null)
        {
            scenario = loaded.With(cpus, model ? parseResult.GetValue(common.Model) : null, policy ? parseResult.GetValue(common.Policy) : null);
            if (cpus is { } n)
            {
                extra.AddRange(["--cpus", n.ToString(CultureInfo.InvariantCulture)]);
            }

            if (policy)
            {
                extra.AddRange(["--policy", scenario.Policy.ToString()]);
            }

            if (model)
            {
                extra.AddRange(["--model", scenario.Model.ToString()]);
            }

            try
            {
                scenario.Validate();
            }
            catch (SimScenarioException ex)
            {
                throw new BadArgumentException($"{file} with the command-line overrides: {ex.Message}", ex);
            }
        }

        return [new SimulateScenario(scenario, file) { MaxEvents = parseResult.GetValue(_maxEvents), ExtraArguments = extra }];
    }

    /// <summary>
    /// FILE must name one file. A folder (<c>rtstress simulate docs/examples</c>) failed with .NET's
    /// "Could not find file '…'", which says neither that it is a folder nor what FILE takes; an empty FILE
    /// with the path API's "(Parameter 'path')".
    /// </summary>
    private static void RequireFilePath(string file)
    {
        const string Allowed = "FILE must be one scenario file (JSON; format in docs/simulator.md)";
        if (string.IsNullOrWhiteSpace(file))
        {
            throw new BadArgumentException($"FILE '{file}' is empty: {Allowed}.");
        }

        if (!Directory.Exists(file))
        {
            return;
        }

        string? example = null;
        try
        {
            example = Directory.EnumerateFiles(file, "*.json").Order(StringComparer.Ordinal).FirstOrDefault();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // an unreadable folder: no example to offer
        }

        throw new BadArgumentException($"{file}: is a folder, not a file: {Allowed}{(example is null ? string.Empty : ", e.g. " + example)}.");
    }

    public override StressSettings Adjust(ParseResult parseResult, CommonOptions common, StressSettings settings, IReadOnlyList<StressScenario> scenarios)
    {
        SimScenario scenario = ((SimulateScenario)scenarios[0]).Scenario;
        return settings with
        {
            Seed = parseResult.GetValue(common.Seed) ?? 0, // the simulator's seed 0 keeps same-time events in scheduling order
            CpuCount = scenario.Cpus,
            Policy = scenario.Policy,
            Model = scenario.Model,
        };
    }
}
