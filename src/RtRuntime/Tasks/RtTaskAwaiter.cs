using System.Runtime.CompilerServices;

namespace RtRuntime.Tasks;

/// <summary>Awaiter of an <see cref="RtTask"/>'s completion. A continuation resumes on the awaiting task's CPU (as a wakeup) or on the ThreadPool.</summary>
public readonly struct RtTaskAwaiter : ICriticalNotifyCompletion
{
    private readonly RtTask _task;

    internal RtTaskAwaiter(RtTask task) => _task = task;

    /// <summary>True once the task ended.</summary>
    public bool IsCompleted => _task.IsCompleted;

    /// <summary>Rethrows the task's exception or cancellation.</summary>
    public void GetResult() => _task.ThrowIfFailed();

    /// <inheritdoc/>
    public void OnCompleted(Action continuation) =>
        _task.AddWaiter(continuation, CapturedContext(), ExecutionContext.Capture());

    /// <inheritdoc/>
    public void UnsafeOnCompleted(Action continuation) =>
        _task.AddWaiter(continuation, CapturedContext(), null);

    internal static SynchronizationContext? CapturedContext()
    {
        SynchronizationContext? current = SynchronizationContext.Current;
        return current is not null && current.GetType() != typeof(SynchronizationContext) ? current : null;
    }
}
