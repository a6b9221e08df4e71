namespace RtRuntime.Simulation;

/// <summary>
/// The deterministic simulator: runs a <see cref="SimScenario"/> on one thread in virtual time with the
/// same placement and balancing rules as the threaded runtime (<see cref="Scheduling.Placement"/>,
/// <see cref="Scheduling.BalanceRules"/>), records a trace and figures, and checks the invariants after
/// every event. The same scenario and seed always give the same result.
/// </summary>
public static class Simulator
{
    /// <summary>Runs the scenario with default options.</summary>
    /// <param name="scenario">The workload.</param>
    /// <param name="seed">0: events at the same virtual time run in the order they were scheduled; any
    /// other value shuffles such ties pseudo-randomly (and reproducibly).</param>
    /// <exception cref="SimScenarioException">The scenario is invalid.</exception>
    public static SimResult Run(SimScenario scenario, long seed) => Run(scenario, seed, new SimOptions());

    /// <summary>Runs the scenario.</summary>
    /// <param name="scenario">The workload.</param>
    /// <param name="seed">The tie-breaking seed (see <see cref="Run(SimScenario, long)"/>).</param>
    /// <param name="options">Trace, invariant checking and limits.</param>
    /// <exception cref="SimScenarioException">The scenario is invalid.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="SimOptions.MaxEvents"/> is negative.</exception>
    /// <exception cref="SimInvariantException">An invariant broke and <see cref="SimOptions.ThrowOnViolation"/> is set.</exception>
    public static SimResult Run(SimScenario scenario, long seed, SimOptions options)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        scenario.Validate();
        return new SimEngine(scenario, seed, options).Run();
    }
}
