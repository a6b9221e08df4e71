using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace RtRuntime.Tests.Diagnostics;

/// <summary>
/// Records the RtRuntime tracepoints (Verbose) whose <c>task</c> payload is one task's id, by name with
/// their payload; other tests' tasks (their schedulers may run meanwhile) are left out by the id.
/// </summary>
internal sealed class TaskEventRecorder : EventListener
{
    private long _task = -1;

    /// <summary>The events recorded: name and payload by field name, in the order written.</summary>
    public ConcurrentQueue<(string Name, IReadOnlyDictionary<string, object?> Payload)> Events { get; } = new();

    /// <summary>The id of the task whose events are recorded (none recorded before it is set).</summary>
    public long Task
    {
        get => Volatile.Read(ref _task);
        set => Volatile.Write(ref _task, value);
    }

    /// <summary>The payloads of the recorded events named <paramref name="name"/>.</summary>
    public IReadOnlyDictionary<string, object?>[] Named(string name) =>
        Events.Where(e => e.Name == name).Select(e => e.Payload).ToArray();

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "RtRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.EventName is not { } name || eventData.PayloadNames is not { } names || eventData.Payload is not { } values)
        {
            return;
        }

        int at = names.IndexOf("task");
        if (at < 0 || values[at] is not long id || id != Task)
        {
            return;
        }

        var payload = new Dictionary<string, object?>();
        for (int i = 0; i < names.Count; i++)
        {
            payload[names[i]] = values[i];
        }

        Events.Enqueue((name, payload));
    }
}
