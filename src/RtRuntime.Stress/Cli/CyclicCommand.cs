using System.CommandLine;

namespace RtRuntime.Stress.Cli;

/// <summary><c>rtstress cyclic</c>: the cyclictest analogue.</summary>
internal sealed class CyclicCommand : ScenarioCommand
{
    private readonly Option<TimeSpan?> _interval = new("--interval")
    {
        Description = "Period of the measuring tasks, 100us..1s (default 1ms).",
        CustomParser = r => CommonOptions.ParseDuration(r, "--interval", TimeSpan.FromMicroseconds(100), TimeSpan.FromSeconds(1), "100us..1s"),
    };

    private readonly Option<int> _priority = new("--priority")
    {
        Description = "FIFO priority of the measuring tasks, 1..99 (default 90).",
        DefaultValueFactory = _ => 90,
        CustomParser = r => CommonOptions.ParseInteger(r, "--priority", 1, 99, 90),
    };

    private readonly Option<bool> _load = new("--load") { Description = "Add low-priority hogs (one per CPU unless --load-tasks)." };

    private readonly Option<int> _loadTasks = new("--load-tasks")
    {
        Description = "Number of hogs, 1..4096 (default: one per CPU; implies --load).",
        CustomParser = r => CommonOptions.ParseInteger(r, "--load-tasks", 1, 4096, 0),
    };

    private readonly Option<TimeSpan?> _loadPoint = new("--load-point")
    {
        Description = "How long a hog spins between preemption points, 1us..100ms (default 50us; implies --load).",
        CustomParser = r => CommonOptions.ParseDuration(r, "--load-point", TimeSpan.FromMicroseconds(1), TimeSpan.FromMilliseconds(100), "1us..100ms"),
    };

    private readonly Option<bool> _loadMigrateDisabled = new("--load-migrate-disabled") { Description = "Hogs spin inside 2 ms migrate-disabled sections (implies --load)." };

    public override string Name => "cyclic";

    public override string Description => "cyclictest analogue: one periodic high-priority task per CPU; wakeup latency histograms per CPU, optionally under low-priority load.";

    public override IEnumerable<Option> Options => [_interval, _priority, _load, _loadTasks, _loadPoint, _loadMigrateDisabled];

    public override IReadOnlyList<StressScenario> Create(ParseResult parseResult, CommonOptions common)
    {
        bool md = parseResult.GetValue(_loadMigrateDisabled);
        // Any option that shapes the load asks for it (it was accepted and ignored without --load).
        bool load = parseResult.GetValue(_load) || md || parseResult.GetResult(_loadTasks) is { Implicit: false } || parseResult.GetResult(_loadPoint) is { Implicit: false };
        return
        [
            new CyclicScenario(load ? (md ? "cyclic-load-md" : "cyclic-load") : "cyclic")
            {
                Interval = parseResult.GetValue(_interval) ?? TimeSpan.FromMilliseconds(1),
                Priority = parseResult.GetValue(_priority),
                Load = load,
                LoadTasks = parseResult.GetValue(_loadTasks),
                LoadPointInterval = parseResult.GetValue(_loadPoint) ?? TimeSpan.FromMicroseconds(50),
                LoadMigrateDisabled = md,
            },
        ];
    }
}
