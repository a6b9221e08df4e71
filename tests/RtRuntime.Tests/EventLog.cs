namespace RtRuntime.Tests;

/// <summary>A thread-safe, ordered record of events from several tasks, for asserting exact orders.</summary>
internal sealed class EventLog
{
    private readonly List<string> _events = new();
    private readonly Lock _lock = new();

    public void Add(string e)
    {
        lock (_lock)
        {
            _events.Add(e);
        }
    }

    public string[] Snapshot()
    {
        lock (_lock)
        {
            return _events.ToArray();
        }
    }

    public override string ToString() => string.Join(", ", Snapshot());
}
