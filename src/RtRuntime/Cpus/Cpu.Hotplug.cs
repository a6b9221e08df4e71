using System.Collections.Concurrent;
using RtRuntime.Tasks;

namespace RtRuntime.Cpus;

/// <summary>
/// The dying CPU's side of hotplug: balance_push (queued migratable tasks are pushed away whenever
/// the CPU passes through its dispatcher; the running task leaves at its next preemption point),
/// the wait for <c>nr_pinned</c> to reach 0, and work run on the CPU thread itself (callbacks).
/// </summary>
internal sealed partial class Cpu
{
    private readonly ConcurrentQueue<(Action Run, Action<Exception> Fail)> _cpuWork = new();

    // Set once this CPU's thread has left its dispatcher loop (the runtime stopped): work queued from
    // then on cannot run on it and fails instead of waiting forever.
    private volatile bool _threadExited;

    // Set when work is queued and cleared before the queue is drained, so that a CPU switching
    // directly from task to task (PickAfterLeave) still comes back to the turn that runs it.
    private volatile bool _cpuWorkQueued;
    private TaskCompletionSource? _vacated;

    // Tasks PushQueuedOff has taken off this CPU (its queue or its wake list) and not yet queued on
    // another: raised under Lock, lowered once they are queued there.
    private int _leavingInTransit;

    /// <summary>True from the start of an offline until it completes or is cancelled.</summary>
    public bool Dying => Volatile.Read(ref _vacated) is not null;

    /// <summary>sched_cpu_deactivate: inactive now; returns the signal of "vacated" (nr_running and nr_pinned zero).</summary>
    public TaskCompletionSource BeginDying()
    {
        var vacated = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Active = false;
        Volatile.Write(ref _vacated, vacated);
        SetPending(PendingWork.Stop); // the running task leaves at its next preemption point
        Parker.Unpark();
        return vacated;
    }

    /// <summary>A cancelled offline: the CPU is active again; nothing was lost (tasks only ever left it).</summary>
    public void AbortDying()
    {
        Volatile.Write(ref _vacated, null);
        Active = true;
    }

    /// <summary>Runs <paramref name="work"/> on this CPU's thread, between tasks; returns what it returned.</summary>
    public Task<T> RunOnCpuAsync<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _cpuWork.Enqueue((
            () =>
            {
                try
                {
                    done.SetResult(work());
                }
                catch (Exception e)
                {
                    done.SetException(e);
                }
            },
            e => done.TrySetException(e)));
        _cpuWorkQueued = true;
        Interlocked.MemoryBarrier(); // the enqueue before the exit flag's read; the exiting thread sets it, then drains
        if (_threadExited)
        {
            FailCpuWork();
        }
        else
        {
            Parker.Unpark();
        }

        return done.Task;
    }

    /// <summary>
    /// The thread's last act before it exits (the runtime stopped): runs the work queued until now and
    /// the vacated check of an offline in progress, on this CPU's thread as usual; then fails what
    /// comes later, and an offline that can no longer be vacated.
    /// </summary>
    private void ExitHotplug()
    {
        HotplugTurn();
        _threadExited = true;
        Interlocked.MemoryBarrier(); // the flag before the last drain; a queuer enqueues, then reads it
        FailCpuWork();
        Volatile.Read(ref _vacated)?.TrySetException(new InvalidOperationException($"The runtime stopped while cpu{Id} was going offline."));
    }

    private void FailCpuWork()
    {
        while (_cpuWork.TryDequeue(out (Action Run, Action<Exception> Fail) work))
        {
            work.Fail(new InvalidOperationException($"cpu{Id}'s thread has exited (the runtime stopped): the work cannot run on it."));
        }
    }

    /// <summary>At each turn: queued CPU work, then (while dying) balance_push and the vacated check.</summary>
    private void HotplugTurn()
    {
        _cpuWorkQueued = false; // before the dequeues: work queued after this is seen now or flags the next turn
        if (_cpuWork.TryDequeue(out (Action Run, Action<Exception> Fail) work))
        {
            do
            {
                work.Run();
            }
            while (_cpuWork.TryDequeue(out work));

            // A hotplug callback (user code) may leave an AsyncLocal or a suppressed flow on this thread, as
            // a synchronous body or a raw post may: not the next task's.
            RtScheduler.ResetCpuThreadContext();
        }

        TaskCompletionSource? vacated = Volatile.Read(ref _vacated);
        if (vacated is null && Active)
        {
            return;
        }

        PushQueuedOff();
        bool empty;
        using (Lock.EnterScope())
        {
            // Tasks rt/balance has taken off this CPU and not yet queued elsewhere still count: their
            // CPU is this one until then, and the offline must not complete under them.
            empty = Rq.Count == 0 && Running is null && NrPinned == 0 && Volatile.Read(ref _leavingInTransit) == 0
                && Volatile.Read(ref _pri.WakeList) is null; // a task a waker listed here just before the deactivation is not gone yet either
        }

        if (empty)
        {
            vacated?.TrySetResult();
        }
    }

    /// <summary>
    /// balance_push's queue part: moves the queued tasks that may leave (migratable ones; every one once
    /// the CPU is offline) to active CPUs. Run by this CPU's thread at each of its turns while it is
    /// inactive, and by <c>rt/balance</c> at each pass while it is dying: the CPU's own turn may be far
    /// off (its running task pinned and without preemption points, or preempt-disabled; or its thread
    /// starved by the OS, seen under stress-ng for over a second), and a task queued on an inactive CPU
    /// is not pulled by the others while it outranks what runs there (the kernel's rule: such a task is
    /// about to run where it is). Mainline needs no second caller: its dying CPU reschedules at once.
    /// </summary>
    internal void PushQueuedOff()
    {
        List<RtTask>? leaving = null; // allocated only when something is queued: this runs every turn of the wait
        RtTask? listed;
        int moving = 0;
        bool drained;
        using (Lock.EnterScope())
        {
            if (Active)
            {
                return; // the offline was cancelled (AbortDying) since rt/balance saw the CPU dying: its tasks stay
            }

            // Tasks a waker listed for this CPU are on no run queue until a drain: the drain sends those
            // that may no longer come here (an inactive CPU takes none) to another CPU.
            drained = _pri.WakeList is not null;
            listed = DrainWakeListLocked();
            for (RtTask? t = listed; t is not null; t = t.RqNext)
            {
                moving++;
            }

            if (Rq.Count > 0)
            {
                foreach (RtTask task in Rq.ToList())
                {
                    if (task.MigrationDisabled == 0 || !Online)
                    {
                        DequeueLocked(task);
                        (leaving ??= []).Add(task);
                        moving++;
                    }
                }
            }

            if (moving > 0)
            {
                Interlocked.Add(ref _leavingInTransit, moving); // under the lock the vacated check takes
            }
        }

        EnqueueElsewhere(listed);
        if (leaving is not null)
        {
            foreach (RtTask task in leaving)
            {
                Scheduler.Balancer.PushedOff(this, task);
            }
        }

        if (moving > 0)
        {
            Interlocked.Add(ref _leavingInTransit, -moving);
        }

        if ((drained || moving > 0) && t_current != this)
        {
            // From rt/balance: the dying CPU looks again at once, at a pinned task drained onto its own
            // queue (its idle poll watched only the list) and at whether it is vacated.
            Parker.Unpark();
        }
    }

    /// <summary>The final offline step: leave the dying state, move timers away, go offline, check it is empty.</summary>
    public void FinishOffline(RtScheduler scheduler)
    {
        List<RtTask> left;
        using (Lock.EnterScope())
        {
            Volatile.Write(ref _vacated, null);
            Online = false;
            left = Rq.ToList();
            if (Running is { } running)
            {
                left.Add(running);
            }
        }

        if (left.Count > 0 || NrPinned != 0)
        {
            scheduler.ReportNotVacated(this, left);
        }

        MoveTimersTo(scheduler.Cpus.First(c => c.Online && c != this));
    }

    /// <summary>
    /// hrtimers_dead_cpu: the sleepers' timers and the timed waits' timeouts move to an online CPU, under
    /// both CPUs' locks (in id order), so that whoever looks for a timer under one of them (a cancel, a
    /// timed wait's resume) finds it on one queue or the other, never on neither.
    /// </summary>
    private void MoveTimersTo(Cpu target)
    {
        using (Lock.EnterScope())
        {
            if (_timers.Count == 0)
            {
                return; // nothing to move: no second lock, and no wakeup of the target or rt/timer on the offline's path
            }
        }

        List<RtTask> sleepers = [];
        Cpu first = Id < target.Id ? this : target;
        Cpu second = Id < target.Id ? target : this;
        using (first.Lock.EnterScope())
        {
            using (second.Lock.EnterScope())
            {
                foreach ((RtTask task, long deadline) in _timers.RemoveAll())
                {
                    target._timers.Add(task, deadline);
                    if (task.RareOrNull is { } rare && rare.WaitTimerCpu == this)
                    {
                        rare.WaitTimerCpu = target; // a timed wait: it stays blocked on its wait queue
                    }
                    else
                    {
                        task.BlockedOn = target;
                        sleepers.Add(task);
                    }
                }

                Volatile.Write(ref _idleReads.NextDeadline, long.MaxValue);
                Volatile.Write(ref target._idleReads.NextDeadline, target._timers.NextExpiry);
            }
        }

        target.Parker.Unpark();
        target.SetPending(PendingWork.Timer); // a busy target's next point fires what is due and drops a countdown computed for its own later timers
        Scheduler.HrTimer.NotifyBusy(target);
        foreach (RtTask task in sleepers)
        {
            // A cancel that read the dying CPU as the sleeper's wait before the move found no timer to
            // remove there; the fence in CheckCancelAfterBlock also orders the completion read after it.
            Scheduler.CheckCancelAfterBlock(task);
            if (task.IsCompleted)
            {
                _ = target.TryRemove(task); // the sleeper ended meanwhile (another of its flows, or the stop): no timer for a dead task
            }
        }
    }
}
