namespace RtRuntime.Tasks;

/// <summary>
/// Drives an async body's ValueTask (or ValueTask&lt;T&gt;): starts it, tells whether it completed,
/// and reads its outcome. Shared by <see cref="VoidRtTask"/> and <see cref="RtTask{T}"/>.
/// </summary>
internal static class ValueTaskBody
{
    /// <summary>Turns a body's outcome into a final state: OperationCanceledException means cancelled.</summary>
    public static RtTaskState Classify(Exception? exception) => exception switch
    {
        null => RtTaskState.Completed,
        OperationCanceledException => RtTaskState.Cancelled,
        _ => RtTaskState.Faulted,
    };

    /// <summary>The exception a failed body's task would throw when awaited (the original one, cancellation included).</summary>
    public static Exception Outcome(Task task)
    {
        try
        {
            task.GetAwaiter().GetResult();
        }
        catch (Exception e)
        {
            return e;
        }

        throw new InvalidOperationException("Outcome was asked of a body that completed successfully.");
    }
}
