using RtRuntime.Tasks;

namespace RtRuntime.Cpus;

/// <summary>
/// The wake list (the kernel's <c>ttwu_queue_wakelist</c>, which it uses for every wakeup across a
/// cache boundary): a thread other than this CPU's hands it a woken or spawned task with one lock-free
/// push, and this CPU's thread moves the tasks onto its run queue (<c>sched_ttwu_pending</c>). The
/// waker then writes one cache line of this CPU instead of its run-queue lock, queue, priorities and
/// flags, each of which this CPU's thread would pull back (on this VM a cache line takes 240–450 ns to
/// move between cores), and a burst of wakeups moves in one exchange. Only the push that finds the
/// list empty signals the CPU (<c>llist_add</c> returning true): an unpark when it sleeps (an idle CPU
/// that polls watches the list itself), else a
/// pending bit that the running task's next preemption point honours, as the kernel's IPI is
/// honoured at once. A listed task is Queued but on no run queue, as between a wakeup's CAS and its
/// enqueue, so other CPUs' pulls do not see it until this CPU drains the list: at its next turn,
/// preemption point, yield or pick, or when a waker takes the run-queue lock first.
/// </summary>
internal sealed partial class Cpu
{
    /// <summary>
    /// Pushes a woken task for this CPU's thread to queue (false from this CPU's own thread, which
    /// queues directly, or when <see cref="RtSchedulerOptions.WakeList"/> is off). The list's head is
    /// <see cref="CpuPri.WakeList"/> (newest first, linked through RqNext, unused while the task is on
    /// no run queue), on the line the waker also reads for placement and for the idle flag.
    /// </summary>
    internal bool TryQueueWake(RtTask task)
    {
        if (!Scheduler.WakeListEnabled || t_current == this)
        {
            return false;
        }

        SetTaskCpu(task);

        // The first try assumes an empty list, the handoff's case: the line's first touch is then the
        // exchange, which takes it exclusive at once (a read first would fetch it shared, and the
        // exchange would have to take it from the CPU's cache a second time).
        RtTask? head = null;
        while (true)
        {
            task.RqNext = head;
            RtTask? seen = Interlocked.CompareExchange(ref _pri.WakeList, task, head);
            if (seen == head)
            {
                break;
            }

            head = seen;
        }

        if (head is null)
        {
            // The first listed task: signal the CPU. The push is a full fence and the CPU sets its idle
            // flag and fences before it looks at the list and parks, so either it sees the task, or
            // this sees it idle; a busy CPU sees the pending bit at its next preemption point or turn.
            // An idle CPU that polls watches the list itself, and one about to sleep looks at it again
            // after it has marked its parker asleep (Parker.Park), so only a sleeping CPU is unparked:
            // the waker does not write the parker's line, and the poller does not take it back.
            if (IsIdle)
            {
                if (Parker.IsAsleep)
                {
                    Parker.Unpark();
                }
            }
            else
            {
                SetPending(PendingWork.WakeList);
            }
        }

        YieldCoreIfWakerHoldsIt(task);
        return true;
    }

    /// <summary>
    /// sched_ttwu_pending on this CPU's thread: queues the listed tasks in wake order. <paramref name="picking"/>:
    /// the caller runs no task and picks next, so a task that outranks the running one needs no need_resched.
    /// </summary>
    internal void DrainWakeList(bool picking = false)
    {
        if (Volatile.Read(ref _pri.WakeList) is null)
        {
            if ((Volatile.Read(ref _pending.Value) & PendingWork.WakeList) == 0)
            {
                return;
            }

            // A signal for a list drained meanwhile (the push found the list empty and signalled after
            // another path took it): clear it, or every switch-in copies it into the gate and the
            // task's first point takes the slow path for nothing. Then look again: a push before the
            // clear is drained now, one after it signals again.
            Interlocked.And(ref _pending.Value, ~PendingWork.WakeList);
            if (Volatile.Read(ref _pri.WakeList) is null)
            {
                return;
            }
        }

        RtTask? redirect;
        using (Lock.EnterScope())
        {
            redirect = DrainWakeListLocked(picking);
        }

        EnqueueElsewhere(redirect);
    }

    /// <summary>
    /// sched_ttwu_pending for this CPU from another thread (<c>rt/balance</c>, when the CPU has not reached
    /// a scheduling point for a tick): the listed tasks go onto its run queue, where pushes see them.
    /// </summary>
    internal void DrainWakeListFromElsewhere()
    {
        if (Volatile.Read(ref _pri.WakeList) is null)
        {
            return;
        }

        RtTask? redirect;
        using (Lock.EnterScope())
        {
            redirect = DrainWakeListLocked();
        }

        EnqueueElsewhere(redirect);

        // The CPU may have gone idle since it was found overdue, and a waker that listed a task for an
        // idle CPU still polling does not unpark it (its poll watches the list, which is now empty):
        // the task would wait on the queue of a CPU asleep with no deadline. Found by a review, with
        // scratch hooks holding rt/balance and the CPU at those two points.
        KickIfIdle();
    }

    /// <summary>
    /// Queues the listed tasks in wake order (lock held). Returns, linked through RqNext, those that
    /// may no longer come here (the CPU began to die, or a task's mask changed since its placement),
    /// for <see cref="EnqueueElsewhere"/> after unlocking. <paramref name="picking"/>: as for <see cref="DrainWakeList"/>.
    /// </summary>
    private RtTask? DrainWakeListLocked(bool picking = false)
    {
        if ((Volatile.Read(ref _pending.Value) & PendingWork.WakeList) != 0)
        {
            Interlocked.And(ref _pending.Value, ~PendingWork.WakeList); // before the exchange: a push after it signals again
        }

        RtTask? list = Interlocked.Exchange(ref _pri.WakeList, null);
        RtTask? ordered = null;
        while (list is not null)
        {
            RtTask? next = list.RqNext;
            list.RqNext = ordered;
            ordered = list;
            list = next;
        }

        // The wakers set each task's CPU before listing it; the queue's published priorities and the
        // need_resched test are done once for the batch, not per task.
        RtTask? redirect = null;
        int top = -1;
        while (ordered is not null)
        {
            RtTask? next = ordered.RqNext;
            ordered.RqNext = null;
            if (MustRedirect(ordered))
            {
                ordered.RqNext = redirect;
                redirect = ordered;
            }
            else
            {
                if (ordered.RareOrNull is { } rare && Volatile.Read(ref rare.SchedRequest) != 0)
                {
                    RtScheduler.ApplySchedRequestOnEnqueueLocked(this, ordered, rare); // set from another thread
                }

                Rq.Enqueue(ordered, atHead: false);
                top = Math.Max(top, ordered.Prio);
            }

            ordered = next;
        }

        if (top >= 0)
        {
            PublishQueued();
            if (!picking && top > _pri.RunningPrio)
            {
                SetPending(PendingWork.NeedResched);
            }
        }

        return redirect;
    }

    /// <summary>
    /// Adds the listed tasks to <paramref name="into"/>, oldest first, for a snapshot (lock held: only a
    /// drain, under this lock, takes the list apart, and a push links a new head without touching the
    /// tasks already listed, so the walk sees each listed task once).
    /// </summary>
    internal void CopyWakeListLocked(List<RtTask> into)
    {
        int start = into.Count;
        for (RtTask? t = Volatile.Read(ref _pri.WakeList); t is not null; t = t.RqNext)
        {
            into.Add(t);
        }

        into.Reverse(start, into.Count - start); // newest first as listed; queued in wake order
    }

    /// <summary>Sends tasks that may not stay here (linked through RqNext) to a fallback CPU; no lock held.</summary>
    private void EnqueueElsewhere(RtTask? redirect)
    {
        while (redirect is not null)
        {
            RtTask? next = redirect.RqNext;
            redirect.RqNext = null;
            Scheduler.Cpus[Scheduler.SelectFallbackCpu(redirect, exclude: this)].Enqueue(redirect);
            redirect = next;
        }
    }
}
