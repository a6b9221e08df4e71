namespace RtRuntime.Stress;

/// <summary>An invariant that did not hold, with the seed and the command that reproduce the run.</summary>
/// <param name="Scenario">The scenario that found it.</param>
/// <param name="Invariant">The invariant's name (see <see cref="Invariants"/>).</param>
/// <param name="Message">What was seen.</param>
/// <param name="Seed">The run's seed.</param>
public sealed record InvariantViolation(string Scenario, string Invariant, string Message, int Seed)
{
    /// <summary>The command line that reruns the scenario with the same seed (set by the scenario).</summary>
    public string Reproduce { get; init; } = string.Empty;

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Scenario}: invariant '{Invariant}' failed (seed {Seed}): {Message}" + (Reproduce.Length > 0 ? $" — reproduce: {Reproduce}" : string.Empty);
}
