using System.Collections.Concurrent;
using RtRuntime.Cpus;
using RtRuntime.PerCpu;
using RtRuntime.Scheduling;
using RtRuntime.Tasks;

namespace RtRuntime;

/// <summary>Priority inheritance for local locks and <see cref="RtMutex"/>es (the kernel's rt_mutex_setprio / rt_mutex_adjust_prio_chain).</summary>
public sealed partial class RtScheduler
{
    /// <summary>
    /// The longest priority-inheritance chain one thread walks (the kernel's <c>max_lock_depth</c>): the
    /// rest of a longer one goes on from <c>rt/balance</c>, so a walk's time and stack stay bounded.
    /// </summary>
    internal const int MaxLockDepth = 1024;

    private readonly ConcurrentQueue<RtTask> _boostsToPost = new();

    /// <summary>
    /// The PI lock of this runtime's <see cref="RtMutex"/>es (the kernel's per-lock <c>wait_lock</c> and
    /// per-task <c>pi_lock</c>, one for all here): their owners, waiters and the held lists and boosts
    /// of their owners. Held for a few writes; a CPU's lock may be held outside it, never inside.
    /// </summary>
    internal RawSpinLock PiLock { get; }

    /// <summary>
    /// <paramref name="task"/>'s <see cref="RtTaskRare.MutexBoost"/> changed (one step of
    /// <c>rt_mutex_adjust_prio_chain</c>): whoever holds the task computes its effective priority again,
    /// at once when it is queued or waiting, at its next preemption point when it runs, at its wakeup
    /// when it sleeps. If it waits on an RtMutex in turn, its move among that mutex's waiters boosts
    /// that owner, and so on along the chain. <paramref name="direct"/>: the caller holds no CPU's lock
    /// and may take the task's (and walks the chain, <see cref="ApplySchedRequestWhereHeld"/>); else a
    /// queued or waiting task's request is applied from <c>rt/balance</c>.
    /// </summary>
    internal void PostBoost(RtTask task, bool direct)
    {
        RequestRecompute(task);
        if (direct)
        {
            ApplySchedRequestWhereHeld(task);
            return;
        }

        byte run = Volatile.Read(ref task.Run);
        if (run == TaskRunState.Running)
        {
            task.Cpu?.SetPending(PendingWork.Stop); // its next point applies it
        }

        if (run != TaskRunState.Dead)
        {
            // rt/balance applies it where the task is held, under its CPU's lock, which the caller's
            // cannot nest (a running task, too: it may be switching out as this thread reads it).
            _boostsToPost.Enqueue(task);
            Rebalancer.Notify(BalanceReason.PriorityInheritance);
        }
    }

    /// <summary>
    /// Leaves a <see cref="SchedRequest.Recompute"/> for <paramref name="task"/>'s owner, which computes
    /// the effective priority again when it next takes the task's requests (enough alone for a task
    /// about to be woken: its wakeup's enqueue takes them).
    /// </summary>
    internal static void RequestRecompute(RtTask task)
    {
        RtTaskRare rare = task.Rare;
        int seen = Volatile.Read(ref rare.SchedRequest);
        while (true)
        {
            // Always a write (a full fence after the boost's write): an owner taking a request meanwhile
            // finds it replaced and takes it again, then reads the boost.
            int found = Interlocked.CompareExchange(ref rare.SchedRequest, SchedRequest.Recompute(seen), seen);
            if (found == seen)
            {
                return;
            }

            seen = found;
        }
    }

    /// <summary>
    /// The running <paramref name="task"/> unlocked an <see cref="RtMutex"/> whose waiters boosted it
    /// (on its CPU thread): its effective priority drops now, and a task queued on its CPU that outranks
    /// it then switches it out at its next preemption point; a drop also starts a balance pass, as a
    /// task waiting on another CPU may now run here (prio_changed_rt's pull).
    /// </summary>
    internal void Deboost(RtTask task)
    {
        Cpu cpu = task.Cpu!;
        bool rebalance;
        using (cpu.Lock.EnterScope())
        {
            int old = task.Prio;
            RecomputePrioLocked(cpu, task);
            rebalance = RunningPrioChangeNeedsBalance(cpu, task, old);
        }

        if (rebalance)
        {
            Rebalancer.Notify(BalanceReason.PriorityChanged);
        }
    }

    /// <summary>
    /// True when a CPU other than <paramref name="self"/> has a queued task that may move and outranks
    /// <paramref name="prio"/>: only then may a drop of <paramref name="self"/>'s priority let a waiting
    /// task run there (prio_changed_rt's pull), worth waking rt/balance for.
    /// </summary>
    internal bool AnyWaitsAbove(int prio, Cpu self)
    {
        foreach (Cpu cpu in _cpus)
        {
            if (cpu != self && cpu.PushableTop > prio)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// An <see cref="RtMutex"/> wait refused at the block (<see cref="RtTaskRare.WaitDeadlock"/>), for the
    /// resuming flow to throw: a deadlock is reported (<see cref="BugKind.Deadlock"/>); a recursive lock is a misuse only.
    /// </summary>
    internal InvalidOperationException RefusedMutexWait(RtTask task, string refusal)
    {
        if (!refusal.StartsWith("BUG:", StringComparison.Ordinal))
        {
            return new InvalidOperationException(refusal);
        }

        ReportDeadlock(task, refusal);
        return new InvalidOperationException(refusal + "; take RtMutexes in one order (nothing was taken).");
    }

    /// <summary>On <c>rt/balance</c>: the boosts posted under some CPU's lock, applied where each task is held.</summary>
    internal void ApplyPostedBoosts()
    {
        while (_boostsToPost.TryDequeue(out RtTask? task))
        {
            ApplySchedRequestWhereHeld(task);
        }
    }

    /// <summary>
    /// Sets <paramref name="task"/>'s effective priority to the highest of its normal priority and the
    /// top waiters of the local locks it holds, requeueing it; if it is itself blocked on a local lock,
    /// the boost walks on to that lock's owner. Every task involved is pinned to <paramref name="cpu"/>,
    /// whose lock the caller holds. A step that reaches a waiter of an RtMutex, whose owner may be on
    /// another CPU, goes on from <c>rt/balance</c>.
    /// </summary>
    internal static void RecomputePrioLocked(Cpu cpu, RtTask task)
    {
        if (RecomputePrioLockedHandingBack(cpu, task) is { } boosted)
        {
            boosted.Scheduler.PostBoost(boosted, direct: false);
        }
    }

    /// <summary>
    /// <see cref="RecomputePrioLocked"/>, handing back the RtMutex owner whose boost the walk changed
    /// (or null) for a caller that tells it itself once it holds no CPU's lock (the chain's next step on
    /// the same thread, <see cref="PostBoost"/> with <c>direct</c>).
    /// </summary>
    internal static RtTask? RecomputePrioLockedHandingBack(Cpu cpu, RtTask task)
    {
        for (int depth = 0; depth < 1024; depth++) // the chain is bounded by the tasks on one CPU
        {
            int prio = BoostedPrioLocked(cpu, task);
            if (prio == task.Prio)
            {
                return null;
            }

            // Its place among the waiters follows its new priority; the boost walks on to that lock's owner.
            // A holder asleep on a wait queue (an Rt local lock's holder may block) moves there too: the
            // queue hands over in priority order, and the boost is what lets it pass lower waiters. There
            // the priority changes under the queue's gate, with the move: tasks on other CPUs list
            // themselves meanwhile, and one listed between the two went after the waiter's new priority
            // at its old place, where it stayed behind lower waiters.
            IWaitSource? waitingOn = Volatile.Read(ref task.BlockedOn);
            if (waitingOn is RtWaitQueue queue)
            {
                return queue.ChangeWaiterPrio(cpu, task, prio);
            }

            SetPrioLocked(cpu, task, prio);
            if (waitingOn is not LocalLockState blockedOn || !blockedOn.RepositionWaiterLocked(task))
            {
                return null;
            }

            if (blockedOn.Owner is not { } next)
            {
                return null;
            }

            task = next;
        }

        return null;
    }

    /// <summary>
    /// The effective priority <paramref name="task"/> should have on <paramref name="cpu"/> (lock held):
    /// the highest of its normal priority, the top waiters of the local locks it holds there and the
    /// boost of the <see cref="RtMutex"/>es it holds.
    /// </summary>
    internal static int BoostedPrioLocked(Cpu cpu, RtTask task)
    {
        int prio = task.NormalPrio;
        if (task.RareOrNull is { } rare)
        {
            prio = Math.Max(prio, Volatile.Read(ref rare.MutexBoost));
        }

        foreach (LocalLockState contended in cpu.ContendedLocks)
        {
            if (contended.Owner == task)
            {
                prio = Math.Max(prio, contended.TopWaiterPrio); // a lock without waiters boosts nobody
            }
        }

        return prio;
    }

    /// <summary>Sets the effective priority of <paramref name="task"/>, requeueing it when it is queued or running on <paramref name="cpu"/> (whose lock the caller holds).</summary>
    internal static void SetPrioLocked(Cpu cpu, RtTask task, int prio)
    {
        int old = task.Prio;
        if (task.Run == TaskRunState.Queued && task.Cpu == cpu && cpu.Rq.Contains(task))
        {
            cpu.RequeueLocked(task, prio, atHead: prio < old && prio > 0); // at the head when lowered (__sched_setscheduler, rt_mutex_setprio); into the normal class at its tail (the head is an RT-class rule)
        }
        else if (cpu.Running == task)
        {
            task.PrioVolatile = prio;
            cpu.SetRunningPrioLocked(prio);
        }
        else
        {
            task.PrioVolatile = prio;
        }
    }
}
