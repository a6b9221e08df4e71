using Microsoft.Extensions.Logging;

namespace RtRuntime.Diagnostics;

/// <summary>
/// The runtime's logger: the application's, with its exceptions kept out. Microsoft.Extensions.Logging
/// rethrows a provider's exception to the caller (an AggregateException), and the runtime logs from its
/// own threads (rt/balance, rt/timer, the CPU threads, a stop's continuations), where an exception would
/// end the thread and with it the process, or end a stop midway. A message that fails is dropped, and
/// the failure is counted (<see cref="Failures"/>, <see cref="RtScheduler.LogFailures"/>, the
/// <c>rtruntime.log.failures</c> counter) and written to the runtime's EventSource, which does not go
/// through the failing provider.
/// </summary>
internal sealed class NonThrowingLogger(ILogger inner) : ILogger
{
    private long _failures;

    /// <summary>Calls into the application's logger that threw (each dropped what it was asked to do).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull
    {
        try
        {
            return inner.BeginScope(state);
        }
        catch (Exception e)
        {
            Failed(e, 0);
            return null;
        }
    }

    public bool IsEnabled(LogLevel logLevel)
    {
        try
        {
            return inner.IsEnabled(logLevel);
        }
        catch (Exception e)
        {
            Failed(e, 0);
            return false;
        }
    }

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        try
        {
            inner.Log(logLevel, eventId, state, exception, formatter);
        }
        catch (Exception e)
        {
            Failed(e, eventId.Id);
        }
    }

    private void Failed(Exception e, int eventId)
    {
        Interlocked.Increment(ref _failures);
        if (RtEventSource.Log.On) // as every tracepoint: none when the instrumentation switch is off
        {
            RtEventSource.Log.LogSinkFailed(e.GetType().FullName ?? e.GetType().Name, e.Message, eventId);
        }
    }
}
