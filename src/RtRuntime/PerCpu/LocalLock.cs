using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.PerCpu;

/// <summary>
/// A per-CPU lock for per-CPU data (<c>local_lock_t</c>). Under <see cref="PreemptionModel.NonRt"/> it is
/// <c>preempt_disable()</c>: no other task runs on the CPU until unlock. Under
/// <see cref="PreemptionModel.Rt"/> it is <c>migrate_disable()</c> plus this CPU's sleeping lock with
/// priority inheritance: the holder stays preemptible; a higher-priority task that wants the lock
/// blocks and boosts the holder (and, through nested locks, the holder's holder) until unlock, when
/// the lock passes to the highest waiter. Each CPU's lock is independent.
/// </summary>
public sealed class LocalLock
{
    private readonly LocalLockState[] _states;

    /// <summary>Creates a local lock with one instance per CPU of <paramref name="runtime"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="runtime"/> is null.</exception>
    public LocalLock(RtScheduler runtime, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        Runtime = runtime;
        Name = name ?? "local_lock";
        _states = new LocalLockState[runtime.CpuCount];
        for (int cpu = 0; cpu < _states.Length; cpu++)
        {
            _states[cpu] = new LocalLockState(this, runtime.Cpus[cpu]);
        }
    }

    /// <summary>The lock's name (for messages).</summary>
    public string Name { get; }

    internal RtScheduler Runtime { get; }

    /// <summary>The task holding CPU <paramref name="cpu"/>'s instance, or null (a racy snapshot).</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such CPU.</exception>
    public RtTask? OwnerOn(int cpu) => Runtime.CpuAt(cpu) is { } c ? Volatile.Read(ref _states[c.Id].Owner) : null;

    /// <summary>
    /// <c>local_lock()</c> on the task's current CPU. Completes synchronously unless (Rt model) another
    /// task on this CPU holds it. Dispose the guard to unlock (<c>local_unlock()</c>).
    /// </summary>
    /// <exception cref="InvalidOperationException">Used off the task's CPU, or the task already holds this CPU's lock (recursion).</exception>
    public LocalLockAwaitable LockAsync(TaskContext context)
    {
        RtTask task = context.Task;
        task.ThrowIfNotCurrent();
        if (Runtime.Model == PreemptionModel.NonRt)
        {
            PreemptGuard preempt = context.PreemptDisable();
            LocalLockState state = _states[task.Cpu!.Id];
            if (state.Owner is not null)
            {
                preempt.Dispose();
                throw Recursive(task, state.Cpu.Id);
            }

            state.Owner = task; // lockdep's owner, checked at unlock
            return LocalLockAwaitable.Acquired(new LocalLockGuard(state, task, preempt, default));
        }

        MigrateGuard migrate = context.MigrateDisable();
        LocalLockState mine = _states[task.Cpu!.Id];
        using (mine.Cpu.Lock.EnterScope())
        {
            if (mine.Owner is null)
            {
                mine.Owner = task;
                (task.HeldLocks ??= []).Add(mine);
                return LocalLockAwaitable.Acquired(new LocalLockGuard(mine, task, default, migrate));
            }

            if (mine.Owner == task)
            {
                migrate.Dispose();
                throw Recursive(task, mine.Cpu.Id);
            }
        }

        return LocalLockAwaitable.Contended(new LocalLockGuard(mine, task, default, migrate));
    }

    private InvalidOperationException Recursive(RtTask task, int cpu) =>
        new($"Task '{task.Name}' already holds cpu{cpu}'s {Name}: local locks are not recursive.");

    /// <summary>Blocks the task on its CPU's lock and boosts the holder (Rt model; OnCompleted of a contended lock).</summary>
    internal void Block(LocalLockState state, RtTask task, Action continuation)
    {
        task.WaitCancelled = false;
        bool acquired;
        using (state.Cpu.Lock.EnterScope())
        {
            acquired = state.Owner is null;
            if (acquired)
            {
                state.Owner = task; // released between LockAsync and here
                (task.HeldLocks ??= []).Add(state);
                task.Suspend(continuation, SuspendReason.PreemptionPoint);
            }
            else
            {
                task.Suspend(continuation, SuspendReason.Block);
                task.BlockedOn = state;
                state.AddWaiterLocked(task);
                RtScheduler.RecomputePrioLocked(state.Cpu, state.Owner!); // priority inheritance (chains through nested locks)
            }
        }

        if (!acquired)
        {
            Runtime.CheckCancelAfterBlock(task);
        }
    }

    /// <summary><c>local_unlock()</c>: hand the lock to the highest waiter, drop the boost, leave the guard.</summary>
    internal void Unlock(LocalLockState state, RtTask task)
    {
        RtTask? next;
        using (state.Cpu.Lock.EnterScope())
        {
            task.HeldLocks!.Remove(state);
            next = state.PopWaiterLocked();
            state.Owner = next;
            if (next is not null)
            {
                (next.HeldLocks ??= []).Add(state);
                next.BlockedOn = null;
                next.ContinuationReady = true;
                RtScheduler.RecomputePrioLocked(state.Cpu, next);
            }

            RtScheduler.RecomputePrioLocked(state.Cpu, task); // unboost
        }

        if (next is not null)
        {
            Runtime.TryWake(next);
        }
    }
}
