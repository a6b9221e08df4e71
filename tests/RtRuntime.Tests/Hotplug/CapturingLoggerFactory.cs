using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace RtRuntime.Tests.Hotplug;

/// <summary>An ILoggerFactory that keeps every formatted message with its level, for asserting log output.</summary>
internal sealed class CapturingLoggerFactory : ILoggerFactory
{
    private readonly ConcurrentQueue<(LogLevel Level, string Message)> _messages = new();

    public (LogLevel Level, string Message)[] Messages => _messages.ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerFactory owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._messages.Enqueue((logLevel, formatter(state, exception)));
    }
}
