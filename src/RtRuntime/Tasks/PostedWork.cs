namespace RtRuntime.Tasks;

/// <summary>One continuation posted to a task's SynchronizationContext (a node of its Treiber stack).</summary>
internal sealed class PostedWork(SendOrPostCallback callback, object? state)
{
    public readonly SendOrPostCallback Callback = callback;
    public readonly object? State = state;
    public PostedWork? Next;

    /// <summary>Reverses a stack taken off the task (newest first) into the order it was posted.</summary>
    public static PostedWork? InPostedOrder(PostedWork? stack)
    {
        PostedWork? fifo = null;
        while (stack is not null)
        {
            PostedWork? next = stack.Next;
            stack.Next = fifo;
            fifo = stack;
            stack = next;
        }

        return fifo;
    }
}
