using System.Reflection;
using Microsoft.Extensions.Logging;
using RtRuntime.Diagnostics;

namespace RtRuntime.Tests.Diagnostics;

/// <summary>Each of the runtime's log messages has its own EventId: a filter or an alert on one must not catch another.</summary>
public class RtLogEventIdTests
{
    [Fact]
    public void EveryLogMessage_HasItsOwnEventId()
    {
        var messages = typeof(RtLog).GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
            .Select(m => (m.Name, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(m => m.Attribute is not null)
            .ToList();

        Assert.True(messages.Count > 20, $"found only {messages.Count} log messages on RtLog");
        var shared = messages.GroupBy(m => m.Attribute!.EventId).Where(g => g.Count() > 1)
            .Select(g => $"EventId {g.Key}: {string.Join(", ", g.Select(m => m.Name))}").ToList();
        Assert.True(shared.Count == 0, string.Join("; ", shared));
    }
}
