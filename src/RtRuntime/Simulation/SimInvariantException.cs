namespace RtRuntime.Simulation;

/// <summary>Thrown by the simulator when <see cref="SimOptions.ThrowOnViolation"/> is set and an invariant breaks.</summary>
public sealed class SimInvariantException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SimInvariantException()
        : this("A simulator invariant was violated.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What was wrong.</param>
    public SimInvariantException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What was wrong.</param>
    /// <param name="innerException">The cause.</param>
    public SimInvariantException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a violation.</summary>
    /// <param name="violation">The violation.</param>
    public SimInvariantException(SimViolation violation)
        : base(Format(violation)) => Violation = violation;

    /// <summary>The violation, when thrown by the simulator.</summary>
    public SimViolation? Violation { get; }

    private static string Format(SimViolation violation)
    {
        ArgumentNullException.ThrowIfNull(violation);
        return $"{violation.Kind} at {violation.TimeUs}us (event {violation.EventIndex}): {violation.Message}";
    }
}
