namespace RtRuntime.Simulation;

/// <summary>Per-CPU figures of a simulation run (times in virtual µs).</summary>
public sealed class SimCpuFigures
{
    internal SimCpuFigures(int id) => Id = id;

    /// <summary>The CPU id.</summary>
    public int Id { get; }

    /// <summary>Time spent running a task.</summary>
    public long BusyUs { get; internal set; }

    /// <summary>Time spent idle.</summary>
    public long IdleUs { get; internal set; }

    /// <summary>
    /// Lost bandwidth: time this CPU (active) was idle or ran a lower priority while a higher-priority
    /// runnable task whose requested affinity includes it waited in another CPU's queue.
    /// </summary>
    public long LostUs { get; internal set; }

    /// <summary>Context switches (switch-ins of a task other than the one that just left: a yield with nothing else runnable is none, as in the kernel's <c>__schedule</c>).</summary>
    public int Switches { get; internal set; }

    /// <summary>Sleeper deadlines this CPU spun to (timer anticipation, <see cref="SimScenario.AnticipateTimersUs"/>).</summary>
    public int TimerSpins { get; internal set; }

    /// <summary>Time spent in those spins (the stopped task's, counted as busy).</summary>
    public long TimerSpinUs { get; internal set; }
}
