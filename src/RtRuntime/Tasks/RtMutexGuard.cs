using System.Runtime.CompilerServices;

namespace RtRuntime.Tasks;

/// <summary>A held <see cref="RtMutex"/>; disposing it unlocks (<c>rt_mutex_unlock()</c>). Dispose once, on the locking task.</summary>
public readonly struct RtMutexGuard : IDisposable
{
    private readonly RtMutex? _mutex;
    private readonly RtTask? _task;
    private readonly int _taken;

    /// <summary><paramref name="taken"/>: the acquisition's number, which tells this hold from a later one of the same task.</summary>
    internal RtMutexGuard(RtMutex mutex, RtTask task, int taken)
    {
        _mutex = mutex;
        _task = task;
        _taken = taken;
    }

    /// <summary>Unlocks: the mutex goes to its highest waiter, and the boost it gave ends.</summary>
    /// <exception cref="InvalidOperationException">
    /// Not taken (a default guard), disposed twice (also after the task took the mutex again: the newer
    /// hold stays), or disposed off the owner's CPU thread (after a <c>ConfigureAwait(false)</c>).
    /// </exception>
    public void Dispose()
    {
        if (_mutex is null || _task is null)
        {
            throw new InvalidOperationException("This RtMutexGuard was never taken (a default value): unlock without lock.");
        }

        if (!_task.IsCurrent)
        {
            throw new InvalidOperationException(
                $"{_mutex.Name} is held by task '{_task.Name}'; only the owner may unlock it, on its CPU thread (not after a ConfigureAwait(false)).");
        }

        if (!_mutex.Release(_task, _taken))
        {
            throw _mutex.Owner == _task
                ? new InvalidOperationException($"Task '{_task.Name}' disposed the guard of an earlier hold of {_mutex.Name}, which it has taken again since: dispose a guard once (the mutex stays held by the newer guard).")
                : _mutex.NotOwner(_task);
        }
    }
}
