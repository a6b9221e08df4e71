using RtRuntime.Cpus;
using RtRuntime.PerCpu;
using RtRuntime.Scheduling;
using RtRuntime.Tasks;

namespace RtRuntime;

/// <summary>
/// sched_setparam() and sched_setscheduler(): a task's priority, or its policy and priority, set by the
/// task itself (<see cref="TaskContext.SetPriority"/>, <see cref="TaskContext.SetScheduler"/>) or from
/// any thread (<see cref="SetPriority"/>, <see cref="SetScheduler"/>).
/// </summary>
public sealed partial class RtScheduler
{
    /// <summary>
    /// Sets <paramref name="task"/>'s priority from any thread (the kernel's <c>sched_setparam(pid)</c>):
    /// its normal priority becomes <paramref name="priority"/>, and its effective priority the higher
    /// of that and the top waiter of any local lock it holds.
    /// <list type="bullet">
    /// <item>A queued task is requeued at once (at the head of its new priority when lowered, at the
    /// tail when raised, as <c>__sched_setscheduler</c> does), and preempts its CPU's running task
    /// at that task's next preemption point when it now outranks it.</item>
    /// <item>A task waiting on an <see cref="RtEvent"/> or <see cref="RtSemaphore"/> moves to its new
    /// place among the waiters at once; one asleep or awaiting anything else takes the new priority
    /// when it wakes (where a priority first matters).</item>
    /// <item>A running task takes it at its next preemption point, yield or block, applied by its own
    /// CPU (here a running task's priority changes only on its CPU thread); a drop below a task
    /// queued there switches it out at that point, and so does a raise to a priority tasks already
    /// wait at (it goes behind them, as the kernel enqueues a raised task at the tail; tasks queued
    /// there later go behind it). A request that comes as the task switches out is applied to it in
    /// its queue.</item>
    /// <item>Called by the task itself on its CPU, it is <see cref="TaskContext.SetPriority"/>: at once.</item>
    /// </list>
    /// The last of several requests wins. A task that has ended is left as it is and the call returns
    /// false (the kernel's ESRCH for a pid that is gone): a task may end at any moment, so this is an
    /// outcome to look at, not an error. Bad input is refused before that (an exception, ended task or not).
    /// </summary>
    /// <returns>
    /// True when the request was made to a live task (it takes effect as above; a task that ends before
    /// it does simply ends, as one can end right after any change); false when the task had already
    /// ended (completed, faulted, cancelled, or ended by a stop): nothing was changed.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="task"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="task"/> belongs to another runtime.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="priority"/> is outside 1..99 (0 is accepted for a task that is, or is being made, Normal: it changes nothing, as sched_setparam's 0 for SCHED_OTHER).</exception>
    /// <exception cref="InvalidOperationException">The task's policy is <see cref="SchedPolicy.Normal"/> (it has no RT priority), or a <see cref="SetScheduler"/> request to make it Normal waits to be applied (one to make a Normal task FIFO or RR lets this through: the priority then goes with that policy).</exception>
    public bool SetPriority(RtTask task, int priority)
    {
        ThrowIfNotOwnTask(task, "priority");
        if (IsNormalParam(task, priority))
        {
            return !task.IsCompleted; // nothing to change either way: only whether the task is there (ESRCH)
        }

        ValidateRtPriority(task, priority);
        return RequestSched(task, null, priority); // refuses a task that is, or is being made, Normal
    }

    /// <summary>
    /// Sets <paramref name="task"/>'s policy and priority from any thread (the kernel's
    /// <c>sched_setscheduler(pid)</c>, <c>chrt -p</c>): <see cref="SchedPolicy.Fifo"/> or
    /// <see cref="SchedPolicy.RoundRobin"/> at 1..99, or <see cref="SchedPolicy.Normal"/> (priority 0),
    /// e.g. to demote a runaway real-time task to the normal class, or to have equal-priority tasks share
    /// a CPU in round-robin slices. It takes effect as <see cref="SetPriority"/> describes: at once for a
    /// queued or waiting task, at its next preemption point, yield or block for a running one. A task
    /// that becomes round-robin while running starts a full slice then; one that leaves it stops
    /// rotating. The last of several requests (of either method) wins; a priority set through
    /// <see cref="SetPriority"/> keeps the policy the task has when it is applied, and is dropped if that
    /// is Normal by then. A task that has ended is left as it is and the call returns false (ESRCH), as
    /// <see cref="SetPriority"/> describes.
    /// </summary>
    /// <returns>True when the request was made to a live task; false when the task had already ended: nothing was changed.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="task"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="task"/> belongs to another runtime.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The policy is not one of the three, or the priority is outside 1..99 (Fifo, RoundRobin) or not 0 (Normal).</exception>
    public bool SetScheduler(RtTask task, SchedPolicy policy, int priority)
    {
        ThrowIfNotOwnTask(task, "policy");
        ValidatePolicy(task.Name, priority, policy);
        return RequestSched(task, policy, priority);
    }

    private void ThrowIfNotOwnTask(RtTask task, string what)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (task.Scheduler != this)
        {
            throw new ArgumentException($"task '{task.Name}' (id {task.Id}) belongs to another runtime; set its {what} through the RtScheduler that spawned it.", nameof(task));
        }
    }

    /// <summary>
    /// A validated policy (null: the task's, sched_setparam) and priority for <paramref name="task"/>, from
    /// any thread: given to whoever holds the task. A priority alone keeps the policy of a request not
    /// yet applied, as it would have been by then in the kernel (a pending change to Normal refuses it).
    /// False (ESRCH) when the task had ended: nothing is written. One that ends after this looked is
    /// still given the request (true), which whoever holds it then drops (the Dead case below).
    /// </summary>
    private bool RequestSched(RtTask task, SchedPolicy? policy, int priority)
    {
        if (task.IsCompleted)
        {
            return false;
        }

        if (task.IsCurrent)
        {
            SetOwnSched(task, policy, priority);
            return true;
        }

        RtTaskRare rare = task.Rare;
        int seen = Volatile.Read(ref rare.SchedRequest);
        while (true)
        {
            SchedPolicy? pending = policy is null ? SchedRequest.PolicyOf(seen) : null;
            if (policy is null)
            {
                ThrowIfNormal(task, priority, pending); // the policy it will have when this applies
            }

            int request = (policy ?? pending) is { } p ? SchedRequest.Of(p, priority) : SchedRequest.OfPriority(priority);
            int found = Interlocked.CompareExchange(ref rare.SchedRequest, request, seen); // a full fence: then the run state is read
            if (found == seen)
            {
                break;
            }

            seen = found;
        }

        ApplySchedRequestWhereHeld(task);
        return true;
    }

    /// <summary>
    /// A request was just written for <paramref name="task"/> (off its CPU thread, no CPU's lock held):
    /// applied by whoever holds the task where its priority may change. When that moved the task among
    /// an RtMutex's waiters, the boost walks on to that mutex's owner, and so on along the chain
    /// (rt_mutex_adjust_prio_chain): hop by hop on this thread, one CPU's lock at a time, in a loop, up
    /// to <see cref="MaxLockDepth"/> hops; the rest of a longer chain goes on from <c>rt/balance</c>.
    /// </summary>
    internal void ApplySchedRequestWhereHeld(RtTask task)
    {
        RtTask? next = ApplySchedRequestWhereHeldHandingBack(task);
        for (int hops = 1; next is not null; hops++)
        {
            if (hops >= MaxLockDepth)
            {
                PostBoost(next, direct: false);
                return;
            }

            RequestRecompute(next);
            next = ApplySchedRequestWhereHeldHandingBack(next);
        }
    }

    /// <summary>One hop of <see cref="ApplySchedRequestWhereHeld"/>: the owner whose boost it changed (the chain's next), or null.</summary>
    private RtTask? ApplySchedRequestWhereHeldHandingBack(RtTask task)
    {
        switch (Volatile.Read(ref task.Run))
        {
            case TaskRunState.Queued:
                TryApplySchedRequestToQueued(task);
                break;
            case TaskRunState.Running:
                // Its CPU applies it when the task's step ends, which the stopper bit brings about at its
                // next preemption point (that point looks again after it takes the bit). A task that left
                // the CPU meanwhile takes it when it is queued again (the enqueue applies it) or, blocked,
                // from LeaveBlocked's look after the block; one switched out to its queue as this thread
                // read it running (its switch-out's look at the request may come before the write) is
                // found there under its CPU's lock, which orders the two.
                task.Cpu?.SetPending(PendingWork.Stop);
                TryApplySchedRequestToQueued(task);
                break;
            case TaskRunState.Blocked:
                return TryApplySchedRequestToBlockedHandingBack(task);
            case TaskRunState.Dead:
                // Nothing to clear: a dead task never runs or queues again, so its request is never read.
                // Writing here (task.Rare) allocated rare state on an ended, maybe retired, object, and one
                // reused meanwhile (a pooled RunAsync task) had its next life's request wiped.
                break;
        }

        return null;
    }

    /// <summary>
    /// Sets the running <paramref name="task"/>'s own priority, on its CPU thread. Only the running task
    /// changes its own: it is then neither queued nor being woken anywhere, so its priority changes under
    /// its CPU's lock alone (a queue never holds it at a priority being rewritten).
    /// </summary>
    internal void SetOwnPriority(RtTask task, int priority)
    {
        if (IsNormalParam(task, priority))
        {
            return;
        }

        ValidateRtPriority(task, priority);
        SetOwnSched(task, null, priority);
    }

    /// <summary>Sets the running <paramref name="task"/>'s own policy and priority, on its CPU thread (<see cref="SetOwnPriority"/>'s rules).</summary>
    internal void SetOwnScheduler(RtTask task, SchedPolicy policy, int priority)
    {
        ValidatePolicy(task.Name, priority, policy);
        SetOwnSched(task, policy, priority);
    }

    /// <summary>
    /// The running task's own change (<paramref name="policy"/> null: a priority alone). A request another
    /// thread made before it and that waits for the task's step end is applied first, as the kernel
    /// would have applied it at its call; then this one, a priority alone under the policy the task has
    /// by then (refused once that is Normal).
    /// </summary>
    private void SetOwnSched(RtTask task, SchedPolicy? policy, int priority)
    {
        Cpu cpu = task.Cpu!;
        bool rebalance = false;
        bool refused;
        RtTask? boostedByRequest = null, boosted = null;
        using (cpu.Lock.EnterScope())
        {
            if (task.RareOrNull is { } rare)
            {
                rebalance = TakeRequestOfRunningLocked(cpu, task, rare, out boostedByRequest);
            }

            refused = policy is null && task.Policy == SchedPolicy.Normal;
            if (!refused)
            {
                rebalance |= ChangeRunningSchedLocked(cpu, task, policy ?? task.Policy, priority, out boosted);
            }
        }

        PostBoosts(boostedByRequest, boosted);
        if (rebalance)
        {
            Rebalancer.Notify(BalanceReason.PriorityChanged);
        }

        if (refused)
        {
            ThrowIfNormal(task, priority, pending: null);
        }
    }

    /// <summary>
    /// The running <paramref name="task"/>'s step ended on its CPU thread with a priority set from
    /// another thread waiting: applied here, as if the task had set it itself.
    /// </summary>
    /// <remarks>
    /// A step that ended by blocking on an <see cref="RtMutex"/> is listed there already: its new
    /// priority moves it among the waiters, and the owner's boost follows from this thread (the CPU's,
    /// which holds no lock by then), as the block's own walk does, not through <c>rt/balance</c>.
    /// </remarks>
    internal void ApplySchedRequestOfRunning(Cpu cpu, RtTask task)
    {
        bool rebalance;
        RtTask? boosted;
        using (cpu.Lock.EnterScope())
        {
            rebalance = TakeRequestOfRunningLocked(cpu, task, task.Rare, out boosted);
        }

        PostBoosts(boosted, null);
        if (rebalance)
        {
            Rebalancer.Notify(BalanceReason.PriorityChanged);
        }
    }

    /// <summary>Tells the owners a change handed back (<see cref="RecomputePrioLockedHandingBack"/>) their boost changed, the caller holding no CPU's lock.</summary>
    private void PostBoosts(RtTask? first, RtTask? second)
    {
        if (first is not null)
        {
            PostBoost(first, direct: true);
        }

        if (second is not null && second != first)
        {
            PostBoost(second, direct: true);
        }
    }

    /// <summary>
    /// Applies another thread's request to the running <paramref name="task"/> (lock held) through
    /// <see cref="RtTask.TryTakeSchedRequest"/> (applied, then cleared), then what a running task's change
    /// brings. True when the rebalancer should look (<see cref="ChangeRunningSchedLocked"/>);
    /// <paramref name="boosted"/>: the RtMutex owner whose boost the change moved (a step that ended
    /// listed on its mutex), for the caller to tell once it holds no lock.
    /// </summary>
    private static bool TakeRequestOfRunningLocked(Cpu cpu, RtTask task, RtTaskRare rare, out RtTask? boosted)
    {
        int old = task.Prio;
        SchedPolicy oldPolicy = task.Policy;
        boosted = null;
        return task.TryTakeSchedRequest(rare) && RunningSchedChangedLocked(cpu, task, old, oldPolicy, out boosted);
    }

    /// <summary>
    /// A task is being put on <paramref name="cpu"/>'s run queue (lock held) with a priority set from
    /// another thread waiting: it takes it now, before its place in the queue is chosen.
    /// </summary>
    internal static void ApplySchedRequestOnEnqueueLocked(Cpu cpu, RtTask task, RtTaskRare rare)
    {
        if (!task.TryTakeSchedRequest(rare))
        {
            return;
        }

        int prio = BoostedPrioLocked(cpu, task);
        if (prio == task.Prio)
        {
            // A policy change alone, or the priority it has: a waiter listed again (a robbed RtMutex or
            // local-lock waiter) keeps its place among the waiters, as a queued task keeps its place
            // (no DEQUEUE_MOVE for the same prio; rt_mutex_adjust_prio_chain stops at an unchanged prio).
            return;
        }

        if (Volatile.Read(ref task.BlockedOn) is RtWaitQueue queue)
        {
            // Granted and not resumed, or an RtMutex waiter robbed after its wakeup (RtMutex.ClaimOrReblock),
            // which is listed again: it moves among the waiters with its priority, under the queue's gate.
            if (queue.SetPrioOfEnqueued(task, prio) is { } boosted)
            {
                boosted.Scheduler.PostBoost(boosted, direct: false);
            }

            return;
        }

        task.PrioVolatile = prio;

        // A local-lock waiter robbed while on the wake list (a handover from the stop's thread, then a
        // steal on this CPU before the drain) is listed on that lock again: it moves among the waiters
        // with its priority, and the owner's boost follows (the owner is not this task, which is not yet
        // in the run queue: a listed waiter never owns the lock it waits for).
        if (Volatile.Read(ref task.BlockedOn) is LocalLockState local && local.RepositionWaiterLocked(task) && local.Owner is { } owner)
        {
            RecomputePrioLocked(cpu, owner);
        }
    }

    /// <summary>
    /// A blocked task with a priority request: applied now where no wakeup can move it meanwhile, else
    /// left for its wakeup's enqueue. A migrate-disabled task wakes only onto its own CPU, under that
    /// CPU's lock, so it changes under that lock whatever it waits on; a migratable one listed on a
    /// wait queue moves among the waiters under the queue's gate, which its waker must take first.
    /// Called by the setter, and by the CPU thread right after the task blocked (each looks after
    /// its own write, so a block racing a request is seen by one of them). A move among an RtMutex's
    /// waiters boosts its owner: the chain walks on from this thread (<see cref="ApplySchedRequestWhereHeld"/>).
    /// </summary>
    internal void TryApplySchedRequestToBlocked(RtTask task)
    {
        if (TryApplySchedRequestToBlockedHandingBack(task) is { } owner)
        {
            PostBoost(owner, direct: true);
        }
    }

    /// <summary><see cref="TryApplySchedRequestToBlocked"/>, handing back the RtMutex owner whose boost it changed (the chain's next hop), or null.</summary>
    private RtTask? TryApplySchedRequestToBlockedHandingBack(RtTask task)
    {
        if (task.Cpu is not { } cpu)
        {
            return null; // never ran: its first enqueue applies it
        }

        bool rebalance = false;
        bool written = false;
        RtTask? boosted = null;
        using (cpu.Lock.EnterScope())
        {
            if (Volatile.Read(ref task.Run) != TaskRunState.Blocked || task.Cpu != cpu)
            {
                // Woken meanwhile: its enqueue applies the request, or did (a pinned task's enqueue
                // is under this lock; a migratable one's, under its new CPU's).
            }
            else if (Volatile.Read(ref task.MigrationDisabled) > 0)
            {
                if (task.TryTakeSchedRequest(task.Rare))
                {
                    boosted = RecomputePrioLockedHandingBack(cpu, task); // its place among a lock's or queue's waiters, and the boost it passes on
                    rebalance = true;
                }
            }
            else if (Volatile.Read(ref task.BlockedOn) is RtWaitQueue queue)
            {
                // A waiter moves among its queue's waiters only: no run queue changed, nothing to balance.
                written = queue.TryApplySchedRequestToListed(cpu, task, out boosted);
            }

            if (written || rebalance)
            {
                // A wakeup that came while its step ended keeps it running here (LeaveBlocked), possibly
                // after the look above: the CPU's running priority follows the one just written (the
                // dispatcher looks too, after its exchange back to running; a fence orders this write
                // before this read, as its exchange orders its own).
                Interlocked.MemoryBarrier();
                if (Volatile.Read(ref task.Run) == TaskRunState.Running && cpu.Running == task)
                {
                    cpu.SetRunningPrioLocked(task.Prio);
                }
            }
        }

        if (rebalance)
        {
            Rebalancer.Notify(BalanceReason.PriorityChanged);
        }

        // The chain's next hop (rt_mutex_adjust_prio_chain), for the caller to take now that it holds no
        // CPU's lock: the owner of the RtMutex this task waits on, where it is held (its wakeup, its
        // queue, its next point; blocked on another RtMutex, the hop after), without waiting for
        // rt/balance to take it.
        return boosted;
    }

    /// <summary>
    /// A queued task with a priority request: requeued under its CPU's lock when it is in that CPU's
    /// run queue; otherwise it is between a wakeup and its enqueue (or on the CPU's wake list), and the
    /// enqueue applies the request. The setter wrote the request before it read the task's CPU (a full
    /// fence between), and a moving enqueue stores the task's CPU before it reads the request (a full
    /// fence between, in <c>Cpu.SetTaskCpu</c>): so either that enqueue sees the request, or this thread
    /// sees the new CPU and follows the task there. A task picked to run before this thread got the
    /// lock is left to its CPU, told by the stopper bit.
    /// </summary>
    private void TryApplySchedRequestToQueued(RtTask task)
    {
        bool changed = false;
        bool cpuDropped = false;
        Cpu? cpu = task.Cpu;
        while (cpu is not null)
        {
            using (cpu.Lock.EnterScope())
            {
                if (task.Cpu != cpu)
                {
                    // Moved meanwhile (by a push or pull under both CPUs' locks, or enqueued elsewhere
                    // after a dequeue here): follow it, or a request that the move's enqueue read too
                    // early to see would wait for the task's next enqueue.
                    cpu = Volatile.Read(ref task.Cpu) is { } moved && Volatile.Read(ref task.Run) == TaskRunState.Queued ? moved : null;
                    continue;
                }

                if (task.Run == TaskRunState.Queued && cpu.Rq.Contains(task) && task.TryTakeSchedRequest(task.Rare))
                {
                    int topBefore = cpu.TopPrio;
                    RecomputePrioLocked(cpu, task); // requeues it (head when lowered); need_resched when it now outranks the runner
                    changed = true;
                    cpuDropped = cpu.TopPrio < topBefore; // lowered from the top of its queue: the CPU is busy lower now
                }
            }

            break;
        }

        if (changed)
        {
            cpu!.KickIfIdle();
            if (MayRunElsewhere(task, cpu) || (cpuDropped && AnyWaitsAbove(cpu.TopPrio, cpu)))
            {
                // A raised task may run on a CPU busy below it; or, lowered off the top of its CPU's queue,
                // it left that CPU busy below a task waiting elsewhere, which a push brings here.
                Rebalancer.Notify(BalanceReason.PriorityChanged);
            }
        }
        else if (task.RareOrNull is { } rare && Volatile.Read(ref rare.SchedRequest) != 0 && Volatile.Read(ref task.Run) == TaskRunState.Running)
        {
            // Picked before this thread got its CPU's lock (the pick does not look at requests): as for a
            // task found running, the stopper bit makes its next preemption point end its step and apply it.
            task.Cpu?.SetPending(PendingWork.Stop);
        }
    }

    /// <summary>
    /// The running task's normal priority becomes <paramref name="priority"/> (lock held); true when the
    /// rebalancer should look (<see cref="RunningPrioChangeNeedsBalance"/>). The rebalancer's pass pushes
    /// waiting tasks to CPUs running below them (it compares with the running priority, which a pull
    /// from inside the step would not).
    /// </summary>
    private static bool ChangeRunningSchedLocked(Cpu cpu, RtTask task, SchedPolicy policy, int priority, out RtTask? boosted)
    {
        int old = task.Prio;
        SchedPolicy oldPolicy = task.Policy;
        task.SetSchedParams(policy, priority);
        return RunningSchedChangedLocked(cpu, task, old, oldPolicy, out boosted);
    }

    /// <summary>
    /// After the running <paramref name="task"/>'s policy and normal priority changed (lock held): its
    /// RR slice, its effective priority, and whether the rebalancer should look (<see cref="ChangeRunningSchedLocked"/>).
    /// </summary>
    private static bool RunningSchedChangedLocked(Cpu cpu, RtTask task, int old, SchedPolicy oldPolicy, out RtTask? boosted)
    {
        SchedPolicy policy = task.Policy;
        if (policy != oldPolicy && (policy == SchedPolicy.RoundRobin || oldPolicy == SchedPolicy.RoundRobin))
        {
            cpu.RestartRoundRobinSlice(task); // a full slice from now for a new RR task; none for one that left RR
        }

        // The higher of the new priority and the waiters of the local locks it holds (rt_mutex_setprio's
        // rule); a running task's change republishes the CPU's priority and sets need_resched when its
        // queue now outranks it (SetRunningPrioLocked). One whose step ended listed on an RtMutex moves
        // among its waiters: that owner is handed back.
        boosted = RecomputePrioLockedHandingBack(cpu, task);
        return RunningPrioChangeNeedsBalance(cpu, task, old);
    }

    /// <summary>
    /// After the running <paramref name="task"/>'s effective priority moved from <paramref name="old"/>
    /// (lock held): true when rt/balance has work from it, worth its wakeup (a futex wake that costs the
    /// caller 10–60 µs on a VM whose idle vCPUs halt). A drop below a movable task queued on another CPU
    /// (prio_changed_rt's pull: that task may now run here); a raise above a task queued here that was to
    /// preempt it (a switch pending, e.g. while the task is preempt-disabled): that task now waits behind
    /// a higher one and may run elsewhere.
    /// </summary>
    internal static bool RunningPrioChangeNeedsBalance(Cpu cpu, RtTask task, int old) =>
        (task.Prio < old && cpu.Scheduler.AnyWaitsAbove(task.Prio, cpu)) || (task.Prio > old && cpu.QueuedTop > old);

    /// <summary>
    /// sched_setparam's priority 0 for a task of the normal class (or being made one by a request not yet
    /// applied): valid, and it changes nothing, as in the kernel (whose SCHED_OTHER tasks have
    /// sched_priority 0).
    /// </summary>
    private static bool IsNormalParam(RtTask task, int priority) =>
        priority == 0 && (SchedRequest.PolicyOf(task.RareOrNull is { } rare ? Volatile.Read(ref rare.SchedRequest) : 0) ?? task.Policy) == SchedPolicy.Normal;

    /// <summary>
    /// True when the queued <paramref name="task"/>, whose priority changed on <paramref name="cpu"/>, may
    /// run on another CPU now: it may migrate and an allowed CPU is busy below it (find_lowest_rq), so
    /// rt/balance has a push to make (the other push a change can make due, to a CPU left busy lower,
    /// is tested by the caller). Otherwise its wakeup is not worth a futex wake of that thread, which
    /// costs the caller 10–60 µs on a VM whose idle vCPUs halt (an RtMutex waiter pays it in its block).
    /// </summary>
    private bool MayRunElsewhere(RtTask task, Cpu cpu)
    {
        if (Volatile.Read(ref task.MigrationDisabled) > 0)
        {
            return false;
        }

        int target = Placement.FindLowest(task.Prio, task.AffinityMask, cpu.Id, CpuViews);
        return target >= 0 && CpuViews[target].TopPrio < task.Prio;
    }

    private static void ValidateRtPriority(RtTask task, int priority)
    {
        if (priority is < 1 or > 99)
        {
            throw new ArgumentOutOfRangeException(nameof(priority), priority, $"priority of task '{task.Name}' must be 1..99 (99 highest): an RT priority, for a Fifo or RoundRobin task (0 only for a Normal task, where it changes nothing).");
        }
    }

    /// <summary>
    /// sched_setparam on a task of the normal class: it has no RT priority. <paramref name="pending"/>:
    /// the policy of a SetScheduler request not yet applied, which the task will have first.
    /// </summary>
    private static void ThrowIfNormal(RtTask task, int priority, SchedPolicy? pending)
    {
        if ((pending ?? task.Policy) == SchedPolicy.Normal)
        {
            throw new InvalidOperationException(pending is not null
                ? $"task '{task.Name}' is being made a Normal task (a SetScheduler request not yet applied): it has no RT priority to set (priority {priority} refused)."
                : $"task '{task.Name}' is a Normal task: it has no RT priority to set (priority {priority} refused); make it Fifo or RoundRobin with SetScheduler, or spawn it so, to give it one.");
        }
    }
}
