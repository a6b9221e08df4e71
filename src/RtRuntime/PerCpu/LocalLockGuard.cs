using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using RtRuntime.Tasks;

namespace RtRuntime.PerCpu;

/// <summary>A held <see cref="LocalLock"/>; disposing it unlocks (<c>local_unlock()</c>). Dispose once, on the locking task.</summary>
public readonly struct LocalLockGuard : IDisposable
{
    private readonly LocalLockState? _state;
    private readonly RtTask? _task;
    private readonly int _taken;

    /// <summary><paramref name="taken"/>: the acquisition's number (<see cref="LocalLockState.Taken"/>), which tells this hold from a later one of the same task.</summary>
    internal LocalLockGuard(LocalLockState state, RtTask task, int taken)
    {
        _state = state;
        _task = task;
        _taken = taken;
    }

    /// <summary>Unlocks.</summary>
    /// <exception cref="InvalidOperationException">
    /// Not taken (a default guard), disposed twice (also after the task took the lock again: the newer
    /// hold stays), disposed by a task that is not the owner, or on another CPU than the lock's.
    /// </exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Dispose()
    {
        LocalLockState? state = _state;
        RtTask? task = _task;
        if (state is not null && task is not null)
        {
            if (state.NonRt)
            {
                if (state.HolderIdNonRt == task.Id && state.Taken == _taken && task.IsCurrent)
                {
                    // The calling thread runs the holder, which has been preempt-disabled since it
                    // locked: a "scheduling while atomic" report would have negated the id, and an exit
                    // released it, so it is still on the lock's CPU and its depth counts this section.
                    state.HolderIdNonRt = 0;
                    task.PreemptCount--;
                    return;
                }
            }
            else if (task.IsCurrent && task.Cpu == state.Cpu && state.Lock.TryUnlockRt(state, task, _taken))
            {
                return;
            }
        }

        DisposeChecked(state, task, _taken);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void DisposeChecked(LocalLockState? state, RtTask? task, int taken)
    {
        if (state is null || task is null || !task.IsCurrent || task.Cpu != state.Cpu || !state.Lock.TryUnlock(state, task, taken))
        {
            ThrowMisuse(state, task);
        }
    }

    [DoesNotReturn]
    private static void ThrowMisuse(LocalLockState? state, RtTask? task)
    {
        if (state is null || task is null)
        {
            throw new InvalidOperationException("This LocalLockGuard was never taken (a default value): unlock without lock.");
        }

        if (!task.IsCurrent)
        {
            throw new InvalidOperationException(
                $"{state.Lock.Name} of cpu{state.Cpu.Id} is owned by task '{task.Name}'; only the owner may unlock it, on its CPU.");
        }

        if (task.Cpu != state.Cpu)
        {
            throw new InvalidOperationException($"Task '{task.Name}' is on cpu{task.CurrentCpu} but tried to unlock cpu{state.Cpu.Id}'s {state.Lock.Name}.");
        }

        if (state.IsHeldBy(task))
        {
            throw new InvalidOperationException(
                $"Task '{task.Name}' disposed the guard of an earlier hold of cpu{state.Cpu.Id}'s {state.Lock.Name}, which it has taken again since: dispose a guard once (the lock stays held by the newer guard).");
        }

        throw new InvalidOperationException($"Task '{task.Name}' does not hold cpu{state.Cpu.Id}'s {state.Lock.Name} (unlocked twice?).");
    }
}
