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

    /// <summary>
    /// Where the continuation resumes, as a Task awaiter decides: the current SynchronizationContext
    /// (unless it is the base type, which has no affinity), else the current TaskScheduler unless it is
    /// the default (code running on an <see cref="RtTaskScheduler"/> resumes there), else null (the
    /// ThreadPool).
    /// </summary>
    internal static object? CapturedContext()
    {
        SynchronizationContext? current = SynchronizationContext.Current;
        if (current is not null && current.GetType() != typeof(SynchronizationContext))
        {
            return current;
        }

        TaskScheduler scheduler = TaskScheduler.Current;
        return scheduler != TaskScheduler.Default ? scheduler : null;
    }
}
