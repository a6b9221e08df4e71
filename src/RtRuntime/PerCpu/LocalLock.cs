using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using RtRuntime.Cpus;
using RtRuntime.Scheduling;
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
        _nonRt = runtime.Model == PreemptionModel.NonRt;
        _states = new LocalLockState[runtime.CpuCount];
        for (int cpu = 0; cpu < _states.Length; cpu++)
        {
            _states[cpu] = new LocalLockState(this, runtime.Cpus[cpu]);
        }

        runtime.TrackLocalLock(this);
    }

    /// <summary>
    /// Releases every instance <paramref name="task"/> still holds, which it can no longer unlock (it
    /// ended, or a "scheduling while atomic" reset its preempt depth): the Rt lock passes to its top
    /// waiter, as an unlock would. Returns the ids of the CPUs whose instance it held. On the task's
    /// CPU thread (where an Rt holder is pinned), or on the stopping thread for a task the stop ended
    /// (the Rt release is made under the CPU's lock, so no waiter can slip in unseen).
    /// </summary>
    internal List<int>? ReleaseHeldBy(RtTask task)
    {
        List<int>? released = null;
        foreach (LocalLockState state in _states)
        {
            if (_nonRt
                ? Interlocked.CompareExchange(ref state.HolderIdNonRt, 0, task.Id) != task.Id
                    && Interlocked.CompareExchange(ref state.HolderIdNonRt, 0, -task.Id) != -task.Id
                : state.Owner != task)
            {
                continue;
            }

            if (!_nonRt)
            {
                if (UnlockContended(state, task) is { } next) // under the CPU's lock: the stop may release it from another thread
                {
                    Runtime.TryWake(next);
                }
            }

            (released ??= []).Add(state.Cpu.Id);
        }

        return released;
    }

    /// <summary>
    /// NonRt: a "scheduling while atomic" report reset <paramref name="task"/>'s preempt depth; every
    /// instance it holds stays held, marked so that its unlock lowers no depth
    /// (<see cref="LocalLockState.MarkSectionReset"/>). Nothing to do in the Rt model, whose lock is a
    /// migrate-disable, which the report leaves alone.
    /// </summary>
    internal void MarkSectionsReset(RtTask task)
    {
        if (_nonRt)
        {
            foreach (LocalLockState state in _states)
            {
                state.MarkSectionReset(task);
            }
        }
    }

    /// <summary>The lock's name (for messages).</summary>
    public string Name { get; }

    /// <summary>
    /// Rt model: how many times a task took one of the lock's instances from a waiter an unlock had
    /// handed it to, before that waiter ran (<c>rt_mutex_steal</c>; <see cref="LockRules.Steals"/>).
    /// </summary>
    public long StealCount => Interlocked.Read(ref _steals);

    private long _steals;

    internal RtScheduler Runtime { get; }

    private readonly bool _nonRt;

    /// <summary>True under <see cref="PreemptionModel.NonRt"/> (the lock is a preempt-disable).</summary>
    internal bool NonRt => _nonRt;

    /// <summary>The task holding CPU <paramref name="cpu"/>'s instance, or null (a racy snapshot).</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such CPU.</exception>
    public RtTask? OwnerOn(int cpu) => Runtime.CpuAt(cpu) is { } c ? _states[c.Id].OwnerSnapshot : null;

    /// <summary>
    /// <c>local_lock()</c> on the task's current CPU. Completes synchronously unless (Rt model) another
    /// task on this CPU holds it. Dispose the guard to unlock (<c>local_unlock()</c>).
    /// </summary>
    /// <remarks>
    /// Every lock and unlock of one CPU's instance runs on that CPU's thread (the task is on its CPU
    /// and stays there), so the uncontended path needs no atomics and no run-queue lock: it counts the
    /// preempt- or migrate-disable and writes the owner. Only a waiter takes the run-queue lock, and
    /// only a lock with waiters (listed on its CPU) takes part in priority inheritance.
    /// </remarks>
    /// <exception cref="InvalidOperationException">
    /// Used off the task's CPU, the task already holds this CPU's lock (recursion), or (Rt model) the
    /// lock is held by another task while this one is preempt-disabled (scheduling while atomic); or,
    /// from the await, the contended lock's awaitable is awaited off the task's CPU thread, or (Rt
    /// model) the holder waits, through local locks and RtMutexes, for one this task holds (the BUG
    /// <see cref="BugKind.Deadlock"/>, reported; nothing is taken: the check is made where the wait is
    /// listed, so that two waits closing a cycle at once on two CPUs cannot both miss it).
    /// </exception>
    /// <exception cref="ArgumentException"><paramref name="context"/> is a default value (no task's context), or its task belongs to another runtime.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public LocalLockAwaitable LockAsync(TaskContext context)
    {
        RtTask task = context.CurrentTaskOf(nameof(context));
        LocalLockState state = StateOf(task);
        if (TryTake(task, state))
        {
            return new LocalLockAwaitable(state, task, state.Taken);
        }

        return Contended(task, state);
    }

    /// <summary>LockAsync of a held instance: refused (NonRt, recursion, scheduling while atomic), or a wait to await (Rt).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // off the uncontended path, which LockAsync inlines
    private LocalLockAwaitable Contended(RtTask task, LocalLockState state)
    {
        if (_nonRt || state.Owner == task)
        {
            ThrowHeld(task, state); // NonRt: nothing else runs here while it is held, so the holder is this task (or one that suspended while atomic)
        }

        // Rt: a sleeping lock (rt_spin_lock's might_sleep check): a preempt-disabled task that would block
        // on it is "scheduling while atomic", refused at once as Yield, Sleep and Wait refuse, before
        // anything is counted; else the holder would run on this CPU inside the caller's section.
        Runtime.ThrowIfAtomic(task, "LockAsync");
        if (TrySteal(task, state))
        {
            return new LocalLockAwaitable(state, task, state.Taken); // handed to a waiter that has not run, which it outranks: taken at once, no suspension
        }

        RtTaskRare rare = task.Rare;
        int wait = rare.LocalLockWaits == int.MaxValue ? 1 : rare.LocalLockWaits + 1;
        rare.LocalLockWaits = wait;
        rare.PendingLocalLockWait = wait;
        MigrateGuard.EnterUntracked(task); // Rt: wait, pinned, for the holder (OnCompleted blocks and boosts it)
        return LocalLockAwaitable.Waiting(state, task, wait);
    }

    /// <summary>
    /// <c>local_trylock()</c>: takes the task's current CPU's instance at once if it is free, without
    /// blocking or awaiting; false, with nothing left disabled, when another task holds it (Rt model; in
    /// the NonRt model only a task that suspended while atomic can). Dispose the guard to unlock.
    /// </summary>
    /// <remarks>
    /// Taking an instance the task already holds is a misuse that both forms refuse alike, at the call,
    /// with an <see cref="InvalidOperationException"/> naming the task, the lock and the CPU: this one
    /// and <see cref="LockAsync"/>, in both models, as <see cref="RtMutex.TryLock"/> refuses an RtMutex
    /// its task holds. The kernel's <c>local_trylock()</c> returns false there (its
    /// <c>local_lock()</c> deadlocks, which lockdep reports); a false here would read as contention,
    /// which a caller retries or skips without ever learning it holds the lock. The check is made only
    /// once the take has failed, so the uncontended take costs nothing more.
    /// </remarks>
    /// <exception cref="InvalidOperationException">Used off the task's CPU, or the task already holds this CPU's instance (recursion).</exception>
    /// <exception cref="ArgumentException"><paramref name="context"/> is a default value (no task's context), or its task belongs to another runtime.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryLock(TaskContext context, out LocalLockGuard guard)
    {
        RtTask task = context.CurrentTaskOf(nameof(context));
        LocalLockState state = StateOf(task);
        if (TryTake(task, state) || TryTakeHeld(task, state))
        {
            guard = new LocalLockGuard(state, task, state.Taken);
            return true;
        }

        guard = default;
        return false;
    }

    /// <summary>
    /// A try-lock of a held instance: a recursion throws (the NonRt holder is read by id, so a holder
    /// that suspended while atomic and runs again is this task too); else (Rt model) the steal from a
    /// waiter it was handed to; else false.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // off the uncontended path, which TryLock inlines
    private bool TryTakeHeld(RtTask task, LocalLockState state)
    {
        if (state.IsHeldBy(task))
        {
            ThrowHeld(task, state);
        }

        return !_nonRt && TrySteal(task, state);
    }

    /// <summary>A try-lock's steal (Rt model): the lock is pending for a waiter that has not run since (<see cref="TryStealLocked"/>).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // off the uncontended path
    private static bool TrySteal(RtTask task, LocalLockState state)
    {
        if (state.Pending is null)
        {
            return false; // read on this CPU's thread, the only one that hands the lock over (or the stop's release of an ended task)
        }

        // Pinned before the lock is its own, as TryTake does: at the migrate-disable limit the overflow
        // throws with nothing taken (review helper-98: taken first, the throw left the lock to a task that
        // had no guard for it, and kept it after its end).
        MigrateGuard.EnterUntracked(task);
        bool stole;
        using (state.Cpu.Lock.EnterScope())
        {
            stole = TryStealLocked(state, task);
        }

        if (!stole)
        {
            MigrateGuard.LeaveUntracked(task);
        }

        return stole;
    }

    /// <summary>
    /// <c>rt_mutex_steal</c> for this CPU's instance (its lock held): when an unlock handed it to a waiter
    /// that has not run since, and <paramref name="task"/> outranks that waiter and every listed one (or,
    /// all in the normal class, equals them: a spinlock_t's lateral steal), the lock becomes
    /// <paramref name="task"/>'s. The robbed waiter, still queued on this CPU, is listed again at the head
    /// of its priority, loses the boost it had as the owner, and blocks again when it runs
    /// (<see cref="LocalLockState.ClaimOrReblock"/>); a cancel meanwhile leaves it listed for that claim.
    /// </summary>
    private static bool TryStealLocked(LocalLockState state, RtTask task)
    {
        // Not by a task waiting itself (a foreign await's callback run while its flow is blocked: on this
        // very lock it would become owner and waiter at once).
        if (state.Pending is not { } robbed || robbed == task || task.BlockedOn is not null
            || !LockRules.Steals(task.Prio, Math.Max(robbed.Prio, state.TopWaiterPrio), lateral: true))
        {
            return false;
        }

        state.Pending = null;
        robbed.Rare.RobbedOf = state;
        state.Owner = task;
        state.Taken++;

        // No longer the owner, its loan from the waiters ends (queued: requeued) before it is listed again,
        // so that it goes back to the head of its own priority (review helper-97: recomputed once listed,
        // it was moved to that priority's tail, behind waiters that came after it).
        RtScheduler.RecomputePrioLocked(state.Cpu, robbed);
        state.AddWaiterFirstLocked(robbed); // its BlockedOn is still this lock's: handed over, it never ran
        RtScheduler.RecomputePrioLocked(state.Cpu, task); // lent at most the top waiter's priority, at or below its own
        Interlocked.Increment(ref state.Lock._steals);
        return true;
    }

    /// <summary>
    /// This CPU's instance for <paramref name="task"/>, which <see cref="TaskContext.CurrentTaskOf"/> has
    /// found running on the calling thread (so another thread using the context while the task runs is
    /// refused too, as after a ConfigureAwait(false)). A task of another runtime is refused: its CPU id
    /// names another CPU's instance here (or none), which it would take without that CPU's thread, and
    /// its runtime, which does not know this lock, would not release it when the task ends.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private LocalLockState StateOf(RtTask task)
    {
        Cpu cpu = task.Cpu!;
        if (cpu.Scheduler != Runtime)
        {
            ThrowHelper.ThrowOtherRuntime(task, $"local lock '{Name}'", "context");
        }

        return _states[cpu.Id];
    }

    /// <summary>
    /// The uncontended take: when the instance is free, count the preempt-disable (NonRt: nothing else
    /// runs on this CPU until unlock, so the lock is ours) or the migrate-disable (Rt) and record the
    /// holder (NonRt by id: no GC reference written). False, with nothing changed, when it is held.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryTake(RtTask task, LocalLockState state)
    {
        if (_nonRt)
        {
            if (state.HolderIdNonRt != 0)
            {
                return false;
            }

            PreemptGuard.EnterUntracked(task);
            state.HolderIdNonRt = task.Id;
            state.Taken++;
            return true;
        }

        if (state.Owner is not null)
        {
            return false;
        }

        MigrateGuard.EnterUntracked(task);
        state.Owner = task;
        state.Taken++;
        return true;
    }

    /// <summary>
    /// The rt_mutex chain walk's deadlock detection, for a contended take (Rt model; this CPU's lock
    /// held): follows the holder of <paramref name="state"/> to the local lock it waits for, and that
    /// lock's holder, and so on; if the chain comes back to <paramref name="task"/>, waiting would never
    /// end: the refusal is returned (the task is not listed; its await reports and throws it). Else the
    /// task's link (<see cref="RtTask.BlockedOn"/>) is published, atomically with the walk for every
    /// other walk that could close a cycle through it. While the chain stays on local locks, every task
    /// and lock on it is on this CPU (a waiter of a local lock is pinned to the lock's CPU), whose
    /// thread alone, under this lock, changes owners and blocked-on links, so it cannot change under
    /// the walk, and no other CPU's wait can make a cycle of it. Where a holder waits for an
    /// <see cref="RtMutex"/>, the rest is walked under the PI lock across both kinds (<see cref="LockChain"/>),
    /// and the link is published before that lock is released: a wait closing a cycle at the same time
    /// on another CPU (an RtMutex wait's walk and listing are under the PI lock too, and so is another
    /// local lock's walk that leaves its CPU) either is seen by this walk or sees this link.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // off the uncontended path
    private string? RefuseOrLinkWaitLocked(LocalLockState state, RtTask task)
    {
        LocalLockState lockState = state;
        for (int depth = 0; depth <= RtScheduler.MaxLockDepth && lockState.Owner is { } owner; depth++) // bounded by the tasks on one CPU
        {
            if (owner == task)
            {
                return DescribeDeadlock(state, task);
            }

            switch (Volatile.Read(ref owner.BlockedOn))
            {
                case LocalLockState next when next.Owner != owner: // not a lock handed to it that it has yet to claim
                    lockState = next;
                    continue;
                case RtMutex:
                    using (Runtime.PiLock.EnterScope())
                    {
                        if (LockChain.ComesBackLocked(owner, task))
                        {
                            return DescribeDeadlockLocked(state, task);
                        }

                        task.BlockedOn = state;
                        return null;
                    }
            }

            break;
        }

        task.BlockedOn = state;
        return null;
    }

    private string DescribeDeadlock(LocalLockState state, RtTask task)
    {
        using (Runtime.PiLock.EnterScope())
        {
            return DescribeDeadlockLocked(state, task);
        }
    }

    private static string DescribeDeadlockLocked(LocalLockState state, RtTask task) =>
        $"BUG: circular locking deadlock detected: {task.Name}/{task.Id} would wait for {LockChain.Describe(LockChain.NameOf(state), state.Owner!, task)}";

    /// <summary>A wait refused at the block (its deadlock, reported now) for the resuming flow to throw; its migrate-disable is undone.</summary>
    internal InvalidOperationException RefusedWait(RtTask task, string refusal)
    {
        MigrateGuard.LeaveUntracked(task);
        Runtime.ReportDeadlock(task, refusal);
        return new InvalidOperationException(refusal + "; take locks in one order (nothing was taken).");
    }

    [DoesNotReturn]
    private void ThrowHeld(RtTask task, LocalLockState state) => throw (state.IsHeldBy(task)
        ? new InvalidOperationException(
            $"Task '{task.Name}' (id {task.Id}) already holds cpu{state.Cpu.Id}'s {Name}: a local lock is not recursive, and both ways of taking it (LockAsync, TryLock) refuse the task that holds that CPU's instance; unlock it first.")
        : new InvalidOperationException($"Task {Math.Abs(state.HolderIdNonRt)} still holds cpu{state.Cpu.Id}'s {Name} under preempt_disable (it suspended while atomic): task '{task.Name}' cannot take it."));

    /// <summary>
    /// Blocks the task on its CPU's lock and boosts the holder (Rt model; OnCompleted of a contended
    /// lock); or takes it, released since <see cref="LockAsync"/>; or, when waiting would close a
    /// deadlock, resumes the task at once for its await to report and throw it.
    /// </summary>
    internal void Block(LocalLockState state, RtTask task, Action continuation)
    {
        if (!task.CanSuspend())
        {
            return; // another flow is suspended: take nothing (the task faults after this step)
        }

        task.WaitCancelled = false;
        bool listed = false;
        string? refusal = null;
        RtTask? boosted = null;
        using (state.Cpu.Lock.EnterScope())
        {
            if (state.Owner is null)
            {
                state.Owner = task; // released between LockAsync and here
                state.Taken++;
                _ = task.Suspend(continuation, SuspendReason.PreemptionPoint);
            }
            else if (TryStealLocked(state, task))
            {
                _ = task.Suspend(continuation, SuspendReason.PreemptionPoint); // handed to a waiter that has not run, which it outranks
            }
            else if (task.CancelFlag != 0)
            {
                task.WaitCancelled = true; // resumes at once and its await throws, as an RtMutex wait's does
                _ = task.Suspend(continuation, SuspendReason.PreemptionPoint);
            }
            else if ((refusal = RefuseOrLinkWaitLocked(state, task)) is not null)
            {
                _ = task.Suspend(continuation, SuspendReason.PreemptionPoint); // resumes at once, unlisted
            }
            else
            {
                _ = task.Suspend(continuation, SuspendReason.Block);
                state.AddWaiterLocked(task);
                boosted = RtScheduler.RecomputePrioLockedHandingBack(state.Cpu, state.Owner!); // priority inheritance (chains through nested locks)
                listed = true;
            }
        }

        if (refusal is not null)
        {
            task.Rare.WaitDeadlock = refusal; // before this step ends, so before the task resumes
            return;
        }

        if (boosted is not null)
        {
            // The chain reached an owner waiting for an RtMutex: its owner (maybe on another CPU) is
            // told from this thread, which now holds no CPU's lock, as the block of an RtMutex waiter does.
            Runtime.PostBoost(boosted, direct: true);
        }

        if (listed)
        {
            Runtime.CheckCancelAfterBlock(task);
        }
    }

    /// <summary>
    /// <c>local_unlock()</c> by <paramref name="task"/> if it holds the lock under acquisition number
    /// <paramref name="taken"/> (false, with nothing changed, when it does not): hand the lock to the
    /// highest waiter, drop the boost, leave the section (NonRt: unless a "scheduling while atomic"
    /// report already ended it).
    /// </summary>
    internal bool TryUnlock(LocalLockState state, RtTask task, int taken)
    {
        if (_nonRt)
        {
            long holder = state.HolderIdNonRt;
            if ((holder != task.Id && holder != -task.Id) || state.Taken != taken)
            {
                return false;
            }

            state.HolderIdNonRt = 0;
            if (holder > 0)
            {
                task.PreemptCount--;
            }

            return true;
        }

        return TryUnlockRt(state, task, taken);
    }

    /// <summary><see cref="TryUnlock"/> in the Rt model.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryUnlockRt(LocalLockState state, RtTask task, int taken)
    {
        if (state.Owner != task || state.Taken != taken)
        {
            return false;
        }

        RtTask? next = null;
        if (state.HasWaiters)
        {
            next = UnlockContended(state, task);
        }
        else
        {
            // No waiter: this lock boosts nobody, so the owner's priority stands. Waiters are only added
            // on this CPU's thread (this one), so none can appear while we release (and one that leaves,
            // cancelled, counts as waiting until it has dropped this owner's boost: LocalLockState.TryRemove).
            state.Owner = null;
        }

        MigrateGuard.LeaveUntracked(task);
        if (next is not null)
        {
            // Woken once this task is migratable again: the new owner, pinned, may wait behind it here,
            // and its wakeup then asks for this task's push (BalanceRules.PinnedWakeupRepairs).
            Runtime.TryWake(next);
        }

        return true;
    }

    /// <summary>Hands the lock to its top waiter (returned, for the caller to wake) or frees it, and drops <paramref name="task"/>'s boost.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // keep the uncontended unlock small where it is inlined
    private static RtTask? UnlockContended(LocalLockState state, RtTask task)
    {
        using (state.Cpu.Lock.EnterScope())
        {
            return HandOverLocked(state, task);
        }
    }

    /// <summary><see cref="UnlockContended"/> with the CPU's lock held (also the give-back of an ended task's unclaimed handover).</summary>
    internal static RtTask? HandOverLocked(LocalLockState state, RtTask task)
    {
        RtTask? next = state.PopWaiterLocked();
        state.Owner = next;
        state.Pending = next; // until it runs: a higher task (or an equal one, both normal) may steal it meanwhile
        if (next is not null)
        {
            state.Taken++;
            if (next.RareOrNull is { } rare && rare.RobbedOf == state)
            {
                rare.RobbedOf = null; // robbed before and not run since: still queued here, woken already
            }

            next.ContinuationReady = true; // its BlockedOn stays this lock's, for its claim when it runs
            RtScheduler.RecomputePrioLocked(state.Cpu, next);
        }

        RtScheduler.RecomputePrioLocked(state.Cpu, task); // unboost
        return next;
    }
}
