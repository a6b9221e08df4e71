using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Simulation;

/// <summary>A simulated task: who it is, where it may run, when it starts, and its script.</summary>
public sealed class SimTaskSpec
{
    /// <summary>A unique name (1..64 characters), used in traces and by other tasks' steps.</summary>
    public required string Name { get; init; }

    /// <summary>User priority: 1..99 for <see cref="SchedPolicy.Fifo"/>/<see cref="SchedPolicy.RoundRobin"/> (99 highest), 0 for <see cref="SchedPolicy.Normal"/>.</summary>
    public int Priority { get; init; }

    /// <summary>The scheduling policy (default FIFO).</summary>
    public SchedPolicy Policy { get; init; } = SchedPolicy.Fifo;

    /// <summary>The allowed CPUs; <see cref="CpuSet.Empty"/> (the default) means every CPU of the scenario.</summary>
    public CpuSet Affinity { get; init; }

    /// <summary>Virtual time of the first wakeup (fork), in µs.</summary>
    public long SpawnUs { get; init; }

    /// <summary>The CPU to try first at spawn (its "previous CPU"), or −1 (default) for none.</summary>
    public int WakeCpu { get; init; } = -1;

    /// <summary>The script; the task exits after the last step.</summary>
    public IReadOnlyList<SimStep> Steps { get; init; } = [];
}
