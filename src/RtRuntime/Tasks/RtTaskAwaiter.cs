using System.Runtime.CompilerServices;

namespace RtRuntime.Tasks;

/// <summary>Awaiter of an <see cref="RtTask"/>'s completion. A continuation resumes on the awaiting task's CPU (as a wakeup) or on the ThreadPool.</summary>
public readonly struct RtTaskAwaiter : ICriticalNotifyCompletion
{
    private readonly RtTask _task;

    // The life awaited (RtTask.Token): a pooled task's handle (RunAsync, TaskContext.Task) awaited in its
    // life may have its object live again before the await registers (after IsCompleted said false);
    // the await still ends with that life, as the ValueTask RunAsync returns does. Always 0 for a
    // spawned task, whose object has one life.
    private readonly short _life;

    internal RtTaskAwaiter(RtTask task)
    {
        _task = task;
        _life = task.Token;
    }

    /// <summary>True once the task ended.</summary>
    public bool IsCompleted => _task.IsCompletedOf(_life);

    /// <summary>Rethrows the task's exception or cancellation.</summary>
    public void GetResult() => _task.ThrowIfFailedOf(_life);

    /// <inheritdoc/>
    public void OnCompleted(Action continuation) =>
        _task.AddWaiterOf(continuation, CapturedContext(), ExecutionContext.Capture(), _life);

    /// <inheritdoc/>
    public void UnsafeOnCompleted(Action continuation) =>
        _task.AddWaiterOf(continuation, CapturedContext(), null, _life);

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
