using RtRuntime.Cpus;

namespace RtRuntime.Tasks;

/// <summary>
/// A wait queue (the kernel's <c>wait_queue_head</c>, ordered like an rt_mutex's waiters): tasks block
/// here in priority order (highest first, FIFO within a priority) and are woken in that order.
/// Base of <see cref="RtEvent"/>, <see cref="RtSemaphore"/> and <see cref="RtMutex"/>. Waiting is for
/// runtime tasks (through their <see cref="TaskContext"/>); signalling is allowed from any thread.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "It is a queue of waiting tasks: the kernel's wait queue.")]
public abstract class RtWaitQueue : IWaitSource
{
    // A spin lock like the run queue's: held for a few field writes, never across user code or a wait
    // (System.Threading.Lock reads the thread id on every enter: 13 % of a same-CPU event handoff).
    private readonly RawSpinLock _gate;
    private WaiterList _waiters;

    private protected RtWaitQueue()
        : this(new RawSpinLock())
    {
    }

    /// <summary>A queue guarded by <paramref name="gate"/>, which it may share (every <see cref="RtMutex"/> of a runtime shares its PI lock).</summary>
    private protected RtWaitQueue(RawSpinLock gate) => _gate = gate;

    /// <summary>Tasks waiting now.</summary>
    public int WaiterCount
    {
        get
        {
            using (_gate.EnterScope())
            {
                return _waiters.Count;
            }
        }
    }

    /// <summary>The lock that guards the waiters and the subclass's state.</summary>
    private protected RawSpinLock Gate => _gate;

    /// <summary>Consumes the resource for <paramref name="task"/> if available (under <see cref="Gate"/>).</summary>
    private protected abstract bool TryTakeLocked(RtTask task);

    /// <summary>
    /// Priority inheritance (an <see cref="RtMutex"/>): called under <see cref="Gate"/> after the waiters
    /// changed (one listed, moved or gone); returns the task whose boost this changed, for the caller
    /// to tell once it has left the gate (<see cref="RtScheduler.PostBoost"/>), or null.
    /// </summary>
    private protected virtual RtTask? WaitersChangedLocked() => null;

    /// <summary>Refuses a task that may not wait here (one of another runtime, for an <see cref="RtMutex"/>), before anything is done.</summary>
    private protected virtual void CheckWaiter(RtTask task)
    {
    }

    /// <summary>True when <paramref name="task"/> is listed among the waiters (under <see cref="Gate"/>).</summary>
    private protected bool IsListedLocked(RtTask task) => task.BlockedOn == this && _waiters.Contains(task);

    /// <summary>
    /// Under <see cref="Gate"/>, before <paramref name="task"/> is listed: why it may not wait here (a
    /// deadlock its wait would close), or null. A refused task resumes at once, and its await throws.
    /// </summary>
    private protected virtual string? RefuseWaitLocked(RtTask task) => null;

    /// <summary>Waits until the resource is available (a blocking wait: a preemption point that may sleep).</summary>
    /// <exception cref="InvalidOperationException">The context is used off its CPU, or the task is preempt-disabled (scheduling while atomic), or (an <see cref="RtMutex"/>) the task already holds it (it is not recursive, whatever the form or the timeout: see <see cref="RtMutex.TryLock"/>).</exception>
    /// <exception cref="OperationCanceledException">The task was cancelled while waiting (thrown by the await).</exception>
    /// <exception cref="ArgumentException"><paramref name="context"/> is a default value (no task's context), or (an <see cref="RtMutex"/>) its task belongs to another runtime.</exception>
    public RtWaitAwaitable WaitAsync(TaskContext context)
    {
        RtTask task = context.CurrentTaskOf(nameof(context));
        CheckWaiter(task);
        task.Scheduler.ThrowIfAtomic(task, "Wait");
        return new RtWaitAwaitable(this, task);
    }

    /// <summary>
    /// Waits until the resource is available or <paramref name="timeout"/> has passed, whichever comes
    /// first (<c>wait_event_timeout</c>, <c>down_timeout</c>): the await returns true when it got the
    /// resource, false when the time ran out (then nothing was taken). <see cref="TimeSpan.Zero"/> takes
    /// it only if it is available now; <see cref="TimeSpan.MaxValue"/> waits until cancelled.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">The context is used off its CPU, or the task is preempt-disabled (scheduling while atomic), or (an <see cref="RtMutex"/>) the task already holds it (it is not recursive, whatever the form or the timeout: see <see cref="RtMutex.TryLock"/>).</exception>
    /// <exception cref="OperationCanceledException">The task was cancelled while waiting (thrown by the await).</exception>
    /// <exception cref="ArgumentException"><paramref name="context"/> is a default value (no task's context), or (an <see cref="RtMutex"/>) its task belongs to another runtime.</exception>
    public RtTimedWaitAwaitable WaitAsync(TaskContext context, TimeSpan timeout)
    {
        if (timeout < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "timeout must be zero or positive (TimeSpan.Zero: take it only if available now); to wait without one, use WaitAsync(context).");
        }

        long now = RtClock.NowNs();
        long ns = RtClock.ToNs(timeout);
        return WaitUntilAsync(context, ns >= long.MaxValue - now ? long.MaxValue : now + ns);
    }

    /// <summary>
    /// Waits until the resource is available or the <see cref="RtClock"/> reaches
    /// <paramref name="deadlineNs"/> (absolute), whichever comes first: the await returns true when it got
    /// the resource, false when the deadline passed first (then nothing was taken).
    /// </summary>
    /// <exception cref="InvalidOperationException">The context is used off its CPU, or the task is preempt-disabled (scheduling while atomic), or (an <see cref="RtMutex"/>) the task already holds it (it is not recursive, whatever the form or the timeout: see <see cref="RtMutex.TryLock"/>).</exception>
    /// <exception cref="OperationCanceledException">The task was cancelled while waiting (thrown by the await).</exception>
    /// <exception cref="ArgumentException"><paramref name="context"/> is a default value (no task's context), or (an <see cref="RtMutex"/>) its task belongs to another runtime.</exception>
    public RtTimedWaitAwaitable WaitUntilAsync(TaskContext context, long deadlineNs)
    {
        RtTask task = context.CurrentTaskOf(nameof(context));
        CheckWaiter(task);
        task.Scheduler.ThrowIfAtomic(task, "Wait");
        return new RtTimedWaitAwaitable(this, task, deadlineNs);
    }

    /// <summary>Takes the resource for <paramref name="task"/> if it is available now (the awaiters' first try).</summary>
    internal virtual bool TryTakeNow(RtTask task)
    {
        using (_gate.EnterScope())
        {
            return TryTakeLocked(task);
        }
    }

    /// <summary>
    /// OnCompleted of a wait (<see cref="WaitQueueEntry"/>): take the resource if it became available,
    /// else block in priority order. A task left waiting with a deadline (not <see cref="long.MaxValue"/>)
    /// also gets its timeout armed on its CPU's timer queue (after it is listed, so that the timer
    /// always finds it there or finds it already granted or cancelled; the task is still in this step,
    /// so it cannot resume first).
    /// </summary>
    internal void Block(RtTask task, Action<object?> continuation, object? state, long deadlineNs)
    {
        if (BlockListed(task, continuation, state) && deadlineNs != long.MaxValue)
        {
            task.Cpu!.ArmWaitTimeout(task, deadlineNs);
        }
    }

    /// <summary>Block's work; true when the task was listed as a waiter (not granted at once, not cancelled).</summary>
    private bool BlockListed(RtTask task, Action<object?> continuation, object? state)
    {
        if (!task.CanSuspend())
        {
            return false; // another flow is suspended: take nothing (the task faults after this step)
        }

        task.WaitCancelled = false;

        // The wait is published before the gate's exchange (a full fence) and the cancel flag is read
        // after it, while a canceller sets the flag with an exchange and then reads the wait: either
        // this sees the flag, or the canceller sees the wait and removes the task under the gate once
        // it is listed. No separate fence after listing, as a wait on a timer or a lock needs.
        task.BlockedOn = this;
        RtTask? boosted;
        using (_gate.EnterScope())
        {
            if (TryTakeLocked(task))
            {
                // Granted at once: BlockedOn stays until the flow resumes and takes it (GetResult), so
                // that a task ending before then gives it back (Abandon).
                _ = task.Suspend(continuation, state, SuspendReason.PreemptionPoint);
                return false;
            }

            if (task.CancelFlag != 0)
            {
                task.BlockedOn = null;
                task.WaitCancelled = true; // resumes at once and GetResult throws, as a cancelled waiter would
                _ = task.Suspend(continuation, state, SuspendReason.PreemptionPoint);
                return false;
            }

            if (RefuseWaitLocked(task) is { } refusal)
            {
                task.BlockedOn = null;
                task.Rare.WaitDeadlock = refusal; // resumes at once, and the await reports and throws it
                _ = task.Suspend(continuation, state, SuspendReason.PreemptionPoint);
                return false;
            }

            _ = task.Suspend(continuation, state, SuspendReason.Block);
            _waiters.Insert(task, this);
            boosted = WaitersChangedLocked();
        }

        PostBoost(boosted, direct: true); // the waiter's CPU thread, in its block, holds no CPU's lock
        return true;
    }

    /// <summary>
    /// Tells <paramref name="boosted"/> (from <see cref="WaitersChangedLocked"/>, outside the gate) that its
    /// boost changed; <paramref name="direct"/> when the caller holds no CPU's lock (else a queued or
    /// blocked task's owner is reached through <c>rt/balance</c>).
    /// </summary>
    private static void PostBoost(RtTask? boosted, bool direct)
    {
        if (boosted is not null)
        {
            boosted.Scheduler.PostBoost(boosted, direct);
        }
    }

    /// <summary>The highest-priority waiter (under <see cref="Gate"/>), or null.</summary>
    private protected RtTask? HeadLocked => _waiters.Head;

    /// <summary>Waiters now (under <see cref="Gate"/>).</summary>
    private protected int WaiterCountLocked => _waiters.Count;

    /// <summary>Removes and returns the highest-priority waiter (under <see cref="Gate"/>), or null.</summary>
    private protected RtTask? PopLocked() => _waiters.Pop();

    /// <summary>Lists <paramref name="task"/> again ahead of the waiters of its priority (under <see cref="Gate"/>): a robbed RtMutex waiter.</summary>
    private protected void InsertFirstOfPrioLocked(RtTask task) => _waiters.InsertFirstOfPrio(task);

    /// <summary>Takes a listed waiter off the list (under <see cref="Gate"/>); false when it is not on it.</summary>
    private protected bool RemoveListedLocked(RtTask task) => _waiters.Remove(task);

    /// <summary>
    /// A cancel or a timeout looked for <paramref name="task"/>, which points here, and did not take it
    /// off the list (under <see cref="Gate"/>): granted and not resumed yet, or a runnable waiter
    /// (<see cref="IsRunnableWaiterLocked"/>). An <see cref="RtMutex"/> notes it for the task's claim.
    /// </summary>
    private protected virtual void MissedRemovalLocked(RtTask task)
    {
    }

    /// <summary>
    /// True for a listed waiter that is runnable (under <see cref="Gate"/>): an <see cref="RtMutex"/> waiter
    /// robbed of the mutex after its wakeup, which has not run since. A canceller or a timer leaves it
    /// listed (it would wake a task that may be running), and notes the end for its claim.
    /// </summary>
    private protected virtual bool IsRunnableWaiterLocked(RtTask task) => false;

    /// <summary>
    /// Makes a waiter taken off the queue runnable (call outside <see cref="Gate"/>). Its
    /// <see cref="RtTask.BlockedOn"/> stays this queue until the waiting flow resumes and takes the
    /// grant (<see cref="TakeGrant"/>): if the task ends first, <see cref="IWaitSource.Abandon"/> gives it back.
    /// </summary>
    internal static void Grant(RtTask task)
    {
        task.ContinuationReady = true;

        // The runtime through the task's CPU, whose line holding it is never written: the task's own
        // reference sits on a line the task's CPU writes as the task blocks and resumes, and reading
        // it would cost the waker a cache-line transfer, and that CPU another to write it back.
        (task.Cpu?.Scheduler ?? task.Scheduler).TryWake(task);
    }

    /// <summary>The waiting flow resumed (on the task's CPU thread): what it was granted is its own now.</summary>
    internal static void TakeGrant(RtTask task) => task.BlockedOn = null;

    /// <summary>
    /// Gives back a grant whose waiter ended before it resumed to take it: the permit or auto-reset
    /// signal goes to the next waiter, or is banked (a manual-reset event consumed nothing).
    /// </summary>
    private protected abstract void ReturnGrant(RtTask task);

    /// <summary>
    /// Priority inheritance changes the priority of <paramref name="task"/> to <paramref name="prio"/>
    /// (<c>rt_mutex_setprio</c>, under the lock of <paramref name="cpu"/>, which nests outside this gate
    /// as in a timed wait's timeout): a task still listed moves to the place its new priority gives it,
    /// so that the queue stays in priority order (a list left out of order also misplaces later
    /// waiters). The priority changes under the gate, with the move: a waiter listed on another CPU
    /// never sees the new priority with the task still at its old place. One granted and not yet
    /// resumed is no longer listed and only changes priority. Returns the owner whose boost the move
    /// changed (an RtMutex's), for the caller to tell once it holds no CPU's lock, or null.
    /// </summary>
    internal RtTask? ChangeWaiterPrio(Cpu cpu, RtTask task, int prio)
    {
        using (_gate.EnterScope())
        {
            return SetWaiterPrioLocked(task, prio, cpu);
        }
    }

    /// <summary>
    /// The priority of <paramref name="task"/>, about to be put on a run queue (that CPU's lock held), becomes
    /// <paramref name="prio"/>; still pointing here, it is either granted and not resumed (then only its
    /// priority changes) or an RtMutex waiter robbed after its wakeup and listed again, which moves among
    /// the waiters with it. Called only when <paramref name="prio"/> differs from its priority (a waiter
    /// whose priority does not change keeps its place). Returns the owner whose boost the move changed, or null.
    /// </summary>
    internal RtTask? SetPrioOfEnqueued(RtTask task, int prio)
    {
        using (_gate.EnterScope())
        {
            return SetWaiterPrioLocked(task, prio, requeueOn: null);
        }
    }

    /// <summary>
    /// Both moves above (under the gate): a listed waiter leaves its place, takes <paramref name="prio"/>
    /// (requeued on <paramref name="requeueOn"/> when it is queued there; null: not on a run queue yet)
    /// and is listed at its new place. Returns the owner whose boost the move changed, or null.
    /// </summary>
    private RtTask? SetWaiterPrioLocked(RtTask task, int prio, Cpu? requeueOn)
    {
        bool listed = task.BlockedOn == this && _waiters.Remove(task); // at its old priority: the list's hint for it stays exact
        if (requeueOn is null)
        {
            task.PrioVolatile = prio;
        }
        else
        {
            RtScheduler.SetPrioLocked(requeueOn, task, prio);
        }

        if (!listed)
        {
            return null;
        }

        _waiters.Insert(task, this);
        return WaitersChangedLocked(); // the boost walks on to the owner (an RtMutex's)
    }

    /// <summary>
    /// A priority set from another thread for a waiter still listed here (<paramref name="cpu"/>'s lock
    /// held: the waiter's CPU, whose local locks may boost it): it takes the request and moves to its
    /// new place (to the tail of its new priority) when its priority changes. False when it is not listed
    /// (granted, or cancelled: its wakeup's enqueue applies the request) or listed yet runnable (an RtMutex
    /// waiter robbed after its wakeup: the queued path applies it, <see cref="RtScheduler.ApplySchedRequestWhereHeld"/>).
    /// Listed and blocked (read under the gate), it cannot be woken meanwhile: its waker takes it off the
    /// list under the gate, and a post to the task (a second flow) changes its run state under the gate.
    /// <paramref name="boosted"/>: the owner whose boost the move changed (an RtMutex's), for the caller
    /// to tell once it holds no CPU's lock (the chain's next step, on the same thread).
    /// </summary>
    internal bool TryApplySchedRequestToListed(Cpu cpu, RtTask task, out RtTask? boosted)
    {
        boosted = null;
        using (_gate.EnterScope())
        {
            // A runnable waiter (an RtMutex waiter robbed after its wakeup, listed again) is on a run queue
            // too, found blocked before its wakeup: its queued path requeues it (set here in place, its run
            // queue kept it at the old level).
            if (task.BlockedOn != this || !_waiters.Contains(task) || IsRunnableWaiterLocked(task)
                || Volatile.Read(ref task.Run) != TaskRunState.Blocked // woken by a post since its CPU's lock saw it blocked: its enqueue applies the request
                || !task.TryTakeSchedRequest(task.Rare))
            {
                return false;
            }

            int prio = RtScheduler.BoostedPrioLocked(cpu, task);
            if (prio != task.Prio)
            {
                // Moved only when its priority changes (a policy change alone keeps its place, as a
                // queued task keeps its place in a run queue).
                _waiters.Remove(task); // at its old priority: the list's hint for it stays exact
                task.PrioVolatile = prio;
                _waiters.Insert(task, this);
                boosted = WaitersChangedLocked(); // the boost walks on to the owner (an RtMutex's)
            }
        }

        return true;
    }

    /// <summary>A post's wakeup of a task that may be listed here: Blocked → Queued under the gate (<see cref="RtScheduler.TryWake"/>).</summary>
    internal bool TryClaimBlockedUnderGate(RtTask task)
    {
        using (_gate.EnterScope())
        {
            return Interlocked.CompareExchange(ref task.Run, TaskRunState.Queued, TaskRunState.Blocked) == TaskRunState.Blocked;
        }
    }

    /// <inheritdoc cref="IWaitSource.TryRemove"/>
    internal bool TryRemove(RtTask task, out RtTask? boosted)
    {
        using (_gate.EnterScope())
        {
            if (task.BlockedOn != this)
            {
                boosted = null;
                return false;
            }

            if (IsRunnableWaiterLocked(task) || !_waiters.Remove(task))
            {
                MissedRemovalLocked(task); // granted and not resumed, or a runnable waiter: it decides itself when it runs
                boosted = null;
                return false;
            }

            task.BlockedOn = null; // under the gate: an Abandon racing this removal sees that nothing was granted
            boosted = WaitersChangedLocked(); // a cancelled or timed-out waiter boosts the owner no more
        }

        return true;
    }

    bool IWaitSource.TryRemove(RtTask task, out RtTask? boosted) => TryRemove(task, out boosted);

    RtTask? IWaitSource.Abandon(RtTask task)
    {
        // Called for a task that ended (on its CPU thread, or by shutdown for a blocked task), decided
        // under the gate: a task still listed leaves; one no longer listed but still pointing here was
        // granted (a signaller popped it, or Block took the resource at once) and never resumed to take
        // the grant; one a canceller removed no longer points here (TryRemove clears it under the gate).
        bool granted;
        RtTask? boosted = null;
        using (_gate.EnterScope())
        {
            if (task.BlockedOn != this)
            {
                return null;
            }

            granted = !_waiters.Remove(task);
            task.BlockedOn = null;
            if (!granted)
            {
                boosted = WaitersChangedLocked();
            }
        }

        if (granted)
        {
            ReturnGrant(task);
        }

        return boosted;
    }
}
