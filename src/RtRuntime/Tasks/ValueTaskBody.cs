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

    public static Exception Unwrap(Task task) =>
        task.IsCanceled
            ? new TaskCanceledException(task)
            : task.Exception!.InnerExceptions.Count == 1 ? task.Exception.InnerExceptions[0] : task.Exception;
}
