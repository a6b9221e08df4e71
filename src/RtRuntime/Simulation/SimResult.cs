using System.Text;

namespace RtRuntime.Simulation;

/// <summary>What a simulation run produced: the trace, the figures, invariant violations and BUG reports.</summary>
public sealed class SimResult
{
    internal SimResult()
    {
    }

    /// <summary>The seed the run used.</summary>
    public long Seed { get; init; }

    /// <summary>Virtual time at the end, in µs.</summary>
    public long EndUs { get; init; }

    /// <summary>True when the run ended because no event was left (not at <see cref="SimScenario.EndUs"/>, <see cref="SimOptions.MaxEvents"/> or a cancellation through <see cref="SimOptions.CancellationToken"/>).</summary>
    public bool Completed { get; init; }

    /// <summary>Queued events processed (spawns, segment ends, timer expiries, ticks).</summary>
    public long Events { get; init; }

    /// <summary>Scheduling events (everything that is or would be a trace entry), counted even without a trace.</summary>
    public long SchedulingEvents { get; init; }

    /// <summary>The trace, in order (empty when <see cref="SimOptions.RecordTrace"/> is off).</summary>
    public IReadOnlyList<SimTraceEvent> Trace { get; init; } = [];

    /// <summary>Per-task figures, in scenario order.</summary>
    public IReadOnlyList<SimTaskFigures> Tasks { get; init; } = [];

    /// <summary>Per-CPU figures, by id.</summary>
    public IReadOnlyList<SimCpuFigures> Cpus { get; init; } = [];

    /// <summary>Invariant violations found (at most 1000 kept).</summary>
    public IReadOnlyList<SimViolation> Violations { get; init; } = [];

    /// <summary>Kernel-style BUG and WARNING reports caused by the scripts (scheduling while atomic, guard underflow, EBUSY).</summary>
    public IReadOnlyList<string> Bugs { get; init; } = [];

    /// <summary>Lost bandwidth summed over all CPUs, in µs.</summary>
    public long LostUs { get; init; }

    /// <summary>Queued tasks pushed to another CPU.</summary>
    public long Pushes { get; init; }

    /// <summary>Queued tasks pulled by another CPU.</summary>
    public long Pulls { get; init; }

    /// <summary>Running pushes: pile-up repairs (a pinned task's preempter pushed away before it ran, or moved by the stopper, push_cpu_stop) and the stopper's check_preempt_equal_prio moves of a runner, counted as the threaded runtime's <c>rtruntime.balance.running_pushes</c>.</summary>
    public long RunningPushes { get; init; }

    /// <summary>Rebalancer ticks that ran, counting those skipped while no task was queued (they had nothing to push).</summary>
    public long Ticks { get; init; }

    /// <summary>Tasks still alive at the end (blocked forever, or cut off by the end time).</summary>
    public IReadOnlyList<string> StuckTasks { get; init; } = [];

    /// <summary>The figures of the task named <paramref name="name"/>.</summary>
    /// <param name="name">A task name from the scenario.</param>
    /// <exception cref="KeyNotFoundException">No such task.</exception>
    public SimTaskFigures Task(string name) =>
        Tasks.FirstOrDefault(t => t.Name == name) ?? throw new KeyNotFoundException($"No task named '{name}' in the scenario.");

    /// <summary>The trace as lines (<see cref="SimTraceEvent.ToString"/>), optionally only the given kinds.</summary>
    /// <param name="kinds">Kinds to keep; none means all.</param>
    public IReadOnlyList<string> TraceLines(params SimEventKind[] kinds)
    {
        ArgumentNullException.ThrowIfNull(kinds);
        return [.. Trace.Where(e => kinds.Length == 0 || kinds.Contains(e.Kind)).Select(e => e.ToString())];
    }

    /// <summary>A human-readable summary: figures per task and CPU, totals, violations.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        sb.AppendLine(inv, $"end {EndUs}us, events {Events}, scheduling events {SchedulingEvents}, lost {LostUs}us, pushes {Pushes}, pulls {Pulls}, running pushes {RunningPushes}, violations {Violations.Count}");
        foreach (SimTaskFigures t in Tasks)
        {
            sb.AppendLine(inv, $"  task {t.Name}({t.Priority}): run {t.RunUs}us wait {t.WaitUs}us (max {t.MaxWaitUs}us) interference {t.InterferenceUs}us lock wait {t.LockWaitUs}us boosted {t.BoostedUs}us migrations {t.Migrations} pushes {t.Pushes} pulls {t.Pulls} exit {t.ExitUs}");
        }

        foreach (SimCpuFigures c in Cpus)
        {
            sb.AppendLine(inv, $"  cpu{c.Id}: busy {c.BusyUs}us idle {c.IdleUs}us lost {c.LostUs}us switches {c.Switches}");
        }

        foreach (SimViolation v in Violations)
        {
            sb.AppendLine(inv, $"  VIOLATION {v.Kind} at {v.TimeUs}us: {v.Message}");
        }

        return sb.ToString();
    }
}
