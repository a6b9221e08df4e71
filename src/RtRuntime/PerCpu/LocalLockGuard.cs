using RtRuntime.Tasks;

namespace RtRuntime.PerCpu;

/// <summary>A held <see cref="LocalLock"/>; disposing it unlocks (<c>local_unlock()</c>). Dispose once, on the locking task.</summary>
public readonly struct LocalLockGuard : IDisposable
{
    private readonly LocalLockState? _state;
    private readonly RtTask? _task;
    private readonly PreemptGuard _preempt;
    private readonly MigrateGuard _migrate;

    internal LocalLockGuard(LocalLockState state, RtTask task, PreemptGuard preempt, MigrateGuard migrate)
    {
        _state = state;
        _task = task;
        _preempt = preempt;
        _migrate = migrate;
    }

    internal RtTask? Task => _task;

    internal LocalLockState? State => _state;

    internal MigrateGuard Migrate => _migrate;

    /// <summary>Unlocks.</summary>
    /// <exception cref="InvalidOperationException">
    /// Not taken (a default guard), disposed twice, disposed by a task that is not the owner, or on
    /// another CPU than the lock's.
    /// </exception>
    public void Dispose()
    {
        LocalLockState state = _state ?? throw new InvalidOperationException("This LocalLockGuard was never taken (a default value): unlock without lock.");
        if (Cpus.Cpu.CurrentTask is not { } current || current != _task)
        {
            throw new InvalidOperationException(
                $"{state.Lock.Name} of cpu{state.Cpu.Id} is owned by task '{_task!.Name}'; only the owner may unlock it, on its CPU.");
        }

        if (current.Cpu != state.Cpu)
        {
            throw new InvalidOperationException($"Task '{current.Name}' is on cpu{current.CurrentCpu} but tried to unlock cpu{state.Cpu.Id}'s {state.Lock.Name}.");
        }

        if (Volatile.Read(ref state.Owner) != current)
        {
            throw new InvalidOperationException($"Task '{current.Name}' does not hold cpu{state.Cpu.Id}'s {state.Lock.Name} (unlocked twice?).");
        }

        if (state.Lock.Runtime.Model == PreemptionModel.NonRt)
        {
            state.Owner = null;
            _preempt.Dispose();
            return;
        }

        state.Lock.Unlock(state, current);
        _migrate.Dispose();
    }
}
