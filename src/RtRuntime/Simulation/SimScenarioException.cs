namespace RtRuntime.Simulation;

/// <summary>A scenario is invalid: malformed JSON, an unknown field, or a value out of range.</summary>
public sealed class SimScenarioException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SimScenarioException()
        : this("The scenario is invalid.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What is wrong.</param>
    public SimScenarioException(string message)
        : this(message, "$", 0, null)
    {
    }

    /// <summary>Creates the exception with a message and the cause.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The cause.</param>
    public SimScenarioException(string message, Exception innerException)
        : this(message, "$", 0, innerException)
    {
    }

    /// <summary>Creates the exception for a field.</summary>
    /// <param name="message">What is wrong and what is allowed.</param>
    /// <param name="path">The JSON path of the field, e.g. <c>$.tasks[1].steps[0].us</c>.</param>
    /// <param name="line">The 1-based line in the file, or 0 when the scenario was built in code.</param>
    /// <param name="innerException">The cause, if any.</param>
    public SimScenarioException(string message, string path, int line, Exception? innerException = null)
        : base(line > 0 ? $"line {line}, {path}: {message}" : $"{path}: {message}", innerException)
    {
        Path = path;
        Line = line;
    }

    /// <summary>The JSON path of the offending field (<c>$</c> for the whole document).</summary>
    public string Path { get; }

    /// <summary>The 1-based line of the offending token, or 0 when unknown.</summary>
    public int Line { get; }
}
