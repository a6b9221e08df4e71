namespace RtRuntime.Simulation;

/// <summary>How a simulation runs (not what it simulates: that is the <see cref="SimScenario"/>).</summary>
public sealed class SimOptions
{
    /// <summary>Record the trace (default true). Figures are kept either way.</summary>
    public bool RecordTrace { get; init; } = true;

    /// <summary>Check the invariants after every event (default true).</summary>
    public bool CheckInvariants { get; init; } = true;

    /// <summary>Throw <see cref="SimInvariantException"/> at the first violation instead of collecting them (default false).</summary>
    public bool ThrowOnViolation { get; init; }

    /// <summary>Stop after this many events, 0 or more (default 50 million): a guard against runaway scenarios.</summary>
    public long MaxEvents { get; init; } = 50_000_000;

    /// <summary>
    /// Stops the run early, before the next event, as <see cref="MaxEvents"/> does: the result holds
    /// what was simulated up to then (<see cref="SimResult.Completed"/> false). Nothing is thrown.
    /// </summary>
    public CancellationToken CancellationToken { get; init; }

    /// <summary>Checks the values (<see cref="Simulator.Run(SimScenario, long, SimOptions)"/> calls it).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="MaxEvents"/> is negative.</exception>
    internal void Validate()
    {
        if (MaxEvents < 0)
        {
            // Before, a negative limit ran nothing and reported the run as stopped at its limit.
            throw new ArgumentOutOfRangeException(nameof(MaxEvents), MaxEvents, "MaxEvents must be 0 or more (0: no event runs).");
        }
    }

    /// <summary>Test seam: break the simulator on purpose to test the invariant checker.</summary>
    internal SimFault InjectFault { get; init; }

    /// <summary>Test seam: called after every event (after the invariant check) to observe the state.</summary>
    internal Action<SimEngine>? AfterEvent { get; init; }
}
