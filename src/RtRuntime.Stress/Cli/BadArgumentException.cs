namespace RtRuntime.Stress.Cli;

/// <summary>A command's arguments are unusable (e.g. a scenario file that does not load): exit code 2 with this message.</summary>
internal sealed class BadArgumentException : Exception
{
    public BadArgumentException()
    {
    }

    public BadArgumentException(string message)
        : base(message)
    {
    }

    public BadArgumentException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
