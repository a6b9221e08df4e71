namespace RtRuntime.Tasks;

/// <summary>One continuation posted to a task's SynchronizationContext (a node of its Treiber stack).</summary>
internal sealed class PostedWork(SendOrPostCallback callback, object? state)
{
    public readonly SendOrPostCallback Callback = callback;
    public readonly object? State = state;
    public PostedWork? Next;
}
