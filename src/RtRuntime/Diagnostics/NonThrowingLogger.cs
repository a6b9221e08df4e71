using Microsoft.Extensions.Logging;

namespace RtRuntime.Diagnostics;

/// <summary>
/// The runtime's logger: the application's, with its exceptions kept out. Microsoft.Extensions.Logging
/// rethrows a provider's exception to the caller (an AggregateException), and the runtime logs from its
/// own threads (rt/balance, rt/timer, the CPU threads, a stop's continuations), where an exception would
/// end the thread and with it the process, or end a stop midway. A message that fails is dropped.
/// </summary>
internal sealed class NonThrowingLogger(ILogger inner) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull
    {
        try
        {
            return inner.BeginScope(state);
        }
        catch (Exception)
        {
            return null;
        }
    }

    public bool IsEnabled(LogLevel logLevel)
    {
        try
        {
            return inner.IsEnabled(logLevel);
        }
        catch (Exception)
        {
            return false;
        }
    }

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        try
        {
            inner.Log(logLevel, eventId, state, exception, formatter);
        }
        catch (Exception)
        {
            // the sink failed: the message is lost, the runtime goes on
        }
    }
}
