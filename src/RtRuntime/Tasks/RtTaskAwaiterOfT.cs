using System.Runtime.CompilerServices;

namespace RtRuntime.Tasks;

/// <summary>Awaiter of an <see cref="RtTask{T}"/>'s result.</summary>
/// <typeparam name="T">The result type.</typeparam>
public readonly struct RtTaskAwaiter<T> : ICriticalNotifyCompletion
{
    private readonly RtTask<T> _task;

    internal RtTaskAwaiter(RtTask<T> task) => _task = task;

    /// <summary>True once the task ended.</summary>
    public bool IsCompleted => _task.IsCompleted;

    /// <summary>The result; rethrows the task's exception or cancellation.</summary>
    public T GetResult() => _task.Result;

    /// <inheritdoc/>
    public void OnCompleted(Action continuation) =>
        _task.AddWaiter(continuation, RtTaskAwaiter.CapturedContext(), ExecutionContext.Capture());

    /// <inheritdoc/>
    public void UnsafeOnCompleted(Action continuation) =>
        _task.AddWaiter(continuation, RtTaskAwaiter.CapturedContext(), null);
}
