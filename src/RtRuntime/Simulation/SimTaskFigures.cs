using RtRuntime.Cpus;

namespace RtRuntime.Simulation;

/// <summary>Per-task figures of a simulation run (times in virtual µs).</summary>
public sealed class SimTaskFigures
{
    internal SimTaskFigures(string name, int priority) => (Name, Priority) = (name, priority);

    /// <summary>The task's name.</summary>
    public string Name { get; }

    /// <summary>The task's priority.</summary>
    public int Priority { get; }

    /// <summary>Time spent running.</summary>
    public long RunUs { get; internal set; }

    /// <summary>Time spent runnable but waiting in a run queue.</summary>
    public long WaitUs { get; internal set; }

    /// <summary>The longest single stretch of waiting (runnable → switch-in).</summary>
    public long MaxWaitUs { get; internal set; }

    /// <summary>Interference: time spent waiting while migrate-disabled (pinned) under a higher-priority task.</summary>
    public long InterferenceUs { get; internal set; }

    /// <summary>Time spent blocked on an RtMutex or a local lock (waiting for its owner to unlock).</summary>
    public long LockWaitUs { get; internal set; }

    /// <summary>Time spent running above its own priority, lent by a waiter on a lock it held (priority inheritance).</summary>
    public long BoostedUs { get; internal set; }

    /// <summary>Times the task's CPU changed (nr_migrations), for any reason.</summary>
    public int Migrations { get; internal set; }

    /// <summary>Times it was pushed while queued, or moved as the runner by the stopper.</summary>
    public int Pushes { get; internal set; }

    /// <summary>Times another CPU pulled it.</summary>
    public int Pulls { get; internal set; }

    /// <summary>
    /// Times it was preempted at a preemption point and another task (or the idle task) ran on its CPU:
    /// one picked again at once (its preempters pushed away on sight) is none, as <c>__schedule</c> counts
    /// <c>nivcsw</c> only when <c>prev != next</c>.
    /// </summary>
    public int Preemptions { get; internal set; }

    /// <summary>Virtual time it exited, or −1 if it had not when the run ended.</summary>
    public long ExitUs { get; internal set; } = -1;

    /// <summary>The CPU it ran on last, or −1.</summary>
    public int LastCpu { get; internal set; } = -1;

    /// <summary>The requested affinity at the end (what /proc prints as Cpus_allowed).</summary>
    public CpuSet Affinity { get; internal set; }
}
