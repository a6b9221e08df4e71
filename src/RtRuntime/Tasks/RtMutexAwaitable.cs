using System.Runtime.CompilerServices;

namespace RtRuntime.Tasks;

/// <summary>
/// The awaitable of <see cref="RtMutex.LockAsync"/>: completed at once when the mutex is free; else it
/// blocks the task among the mutex's waiters (boosting the owner) until the mutex is handed to it. Its
/// result is the guard whose disposal unlocks.
/// </summary>
public readonly struct RtMutexAwaitable : ICriticalNotifyCompletion
{
    private readonly RtMutex _mutex;
    private readonly RtTask _task;
    private readonly ValueTaskAwaiter _wait;

    internal RtMutexAwaitable(RtMutex mutex, RtTask task)
    {
        _mutex = mutex;
        _task = task;
    }

    private RtMutexAwaitable(RtMutex mutex, RtTask task, ValueTaskAwaiter wait)
    {
        _mutex = mutex;
        _task = task;
        _wait = wait;
    }

    /// <summary>Takes the mutex if it is free; otherwise an awaiter that waits for it.</summary>
    /// <exception cref="InvalidOperationException">Awaited off the task's CPU thread: it would block a task that is not running.</exception>
    public RtMutexAwaitable GetAwaiter() => new(_mutex, _task, new RtWaitAwaitable(_mutex, _task).GetAwaiter());

    /// <summary>True when the mutex was taken at once.</summary>
    public bool IsCompleted => _wait.IsCompleted;

    /// <summary>The held mutex.</summary>
    /// <exception cref="OperationCanceledException">The task was cancelled while it waited.</exception>
    /// <exception cref="InvalidOperationException">The task already holds the mutex, or its wait would have closed a deadlock (reported).</exception>
    public RtMutexGuard GetResult()
    {
        _wait.GetResult();
        return new RtMutexGuard(_mutex, _task, _mutex.Taken); // it holds the mutex now: nobody else changes the number meanwhile
    }

    /// <inheritdoc/>
    public void OnCompleted(Action continuation) => _wait.OnCompleted(continuation);

    /// <inheritdoc/>
    public void UnsafeOnCompleted(Action continuation) => _wait.UnsafeOnCompleted(continuation);
}
