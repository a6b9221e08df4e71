namespace RtRuntime.Stress.Cli;

/// <summary>
/// <c>rtstress</c>'s Ctrl+C policy. The first Ctrl+C cancels <see cref="Run"/>: the running scenario stops and the
/// report of what ran is written (exit 130). The second cancels <see cref="Report"/>: the report write stops at its
/// next check (between files, or within the trace) and the run ends with the summary and the files written so
/// far (each complete: see <see cref="Reporting.ReportFile"/>). The third lets the signal end the process at once,
/// for a run that no longer responds (a scenario that does not end after its cancellation, within the watchdog's
/// settle time). Before this, every Ctrl+C after the first was swallowed: a long report write could not be cut short.
/// </summary>
internal sealed class InterruptHandler : IDisposable
{
    private readonly CancellationTokenSource _run = new();
    private readonly CancellationTokenSource _report = new();
    private readonly TextWriter _hints;
    private int _count;

    /// <summary>Creates the handler.</summary>
    /// <param name="hints">Where to say what each Ctrl+C does (stderr; <see cref="TextWriter.Null"/> under --quiet).</param>
    public InterruptHandler(TextWriter hints)
    {
        ArgumentNullException.ThrowIfNull(hints);
        _hints = hints;
    }

    /// <summary>Cancelled by the first Ctrl+C: stops the run.</summary>
    public CancellationToken Run => _run.Token;

    /// <summary>Cancelled by the second Ctrl+C: stops the report write.</summary>
    public CancellationToken Report => _report.Token;

    /// <summary>Handles one Ctrl+C (SIGINT).</summary>
    /// <returns>True when the process should end at once (the signal's default action); false to keep running.</returns>
    public bool OnInterrupt()
    {
        switch (Interlocked.Increment(ref _count))
        {
            case 1:
                _hints.WriteLine("rtstress: interrupted: stopping the running scenario, then writing the report of what ran (Ctrl+C again to skip the rest of the report)");
                _run.Cancel();
                return false;
            case 2:
                _hints.WriteLine("rtstress: interrupted again: the report write stops at its next file; the files already written are complete (Ctrl+C once more to exit at once)");
                _report.Cancel();
                return false;
            default:
                return true;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _run.Dispose();
        _report.Dispose();
    }
}
