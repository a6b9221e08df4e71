using Microsoft.Extensions.Logging;

namespace RtRuntime.Stress;

/// <summary>The scenario watchdog's log messages.</summary>
internal static partial class WatchdogLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "[{Scenario}] watchdog (seed {Seed}): {Reason}; {Stuck}; cancelling it")]
    public static partial void Fired(ILogger logger, string scenario, int seed, string reason, string stuck);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "[{Scenario}] watchdog: snapshot of runtime {Index}: {Json}")]
    public static partial void Snapshot(ILogger logger, string scenario, int index, string json);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "[{Scenario}] watchdog: {Note}")]
    public static partial void Note(ILogger logger, string scenario, string note);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "[{Scenario}] watchdog: the scenario ended after it was cancelled, with an exception")]
    public static partial void EndedWithException(ILogger logger, string scenario, Exception exception);

    [LoggerMessage(EventId = 5, Level = LogLevel.Error, Message = "[{Scenario}] watchdog: abandoned; it did not end {Seconds:0.0} s after it was cancelled and its runtime(s) stopped; the suite goes on without it")]
    public static partial void Abandoned(ILogger logger, string scenario, double seconds);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "[{Scenario}] watchdog: the abandoned scenario ended later with an exception")]
    public static partial void AbandonedFaulted(ILogger logger, string scenario, Exception exception);
}
