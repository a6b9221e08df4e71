using RtRuntime.Scheduling;

namespace RtRuntime.Simulation;

/// <summary>
/// A simulated CPU (<c>struct rq</c>): <c>curr</c>, the run queue (highest priority first, FIFO among
/// equals), <c>push_busy</c>, pending stop work and <c>nr_pinned</c>. Implements <see cref="ICpuState"/>
/// so the shared <see cref="Placement"/> code reads it exactly as it reads a threaded CPU.
/// </summary>
internal sealed class SimCpu : ICpuState
{
    public SimCpu(int id, bool active)
    {
        Id = id;
        Active = active;
        Figures = new SimCpuFigures(id);
    }

    public int Id { get; }

    public bool Active { get; set; }

    public SimCpuFigures Figures { get; }

    public SimTask? Running;

    public List<SimTask> Queue { get; } = [];

    /// <summary>rq->push_busy: a push of the running task is in flight.</summary>
    public bool PushBusy;

    /// <summary>
    /// What that push's target must run below besides the runner's priority (the threaded <c>Cpu.PushBelow</c>);
    /// written whenever <see cref="PushBusy"/> is set, and read only while it is.
    /// </summary>
    public int PushBelow = int.MaxValue;

    /// <summary>Stop work (push_cpu_stop / migration_cpu_stop) queued for the running task's next preemption point.</summary>
    public bool StopPending;

    /// <summary>
    /// The kernel's prev: the task last switched in here, until the CPU goes idle. Picking it again (a
    /// yield with nothing else runnable) is no context switch (__schedule counts only prev != next), as
    /// the threaded dispatcher's <c>Cpu._prev</c>.
    /// </summary>
    public SimTask? Prev;

    /// <summary>
    /// The last task queued at the running task's priority when that task was raised to it while it ran
    /// (the threaded <c>Cpu._raisedBehind</c>): the running task is behind it in its list, as
    /// <c>__sched_setscheduler</c> and <c>rt_mutex_setprio</c> enqueue a raised task (the running one too:
    /// an RT task stays on its list while it runs) at the tail of its new priority. Its next preemption
    /// point switches it out right behind that task, while that task is still queued here at that
    /// priority. Null when it runs at the head of its list: picked, lowered, or raised to a priority
    /// nothing waits at.
    /// </summary>
    public SimTask? RaisedBehind;

    /// <summary>The priority of the task that last left the CPU, for the next pull (−1 after it).</summary>
    public int LastRunPrio = -1;

    public int NrPinned;

    /// <summary>When the running task's round-robin slice started.</summary>
    public long SliceStart;

    /// <summary>Lost-bandwidth state since the last event.</summary>
    public bool Lost;

    public int RunningPrio => Running?.Prio ?? -1;

    public int QueuedTop => Queue.Count > 0 ? Queue[0].Prio : -1;

    public int TopPrio => Math.Max(RunningPrio, QueuedTop);

    /// <inheritdoc/>
    public bool RunningPinned => Running is { MigrationDisabled: > 0 };

    public void Insert(SimTask task, bool atHead)
    {
        int i = 0;
        if (atHead)
        {
            while (i < Queue.Count && Queue[i].Prio > task.Prio)
            {
                i++;
            }
        }
        else
        {
            while (i < Queue.Count && Queue[i].Prio >= task.Prio)
            {
                i++;
            }
        }

        Queue.Insert(i, task);
    }

    /// <summary>
    /// Puts <paramref name="task"/> right behind <paramref name="anchor"/>, queued here at the same
    /// priority (a running task raised behind it: <see cref="RaisedBehind"/>), so tasks of that priority
    /// queued after the raise stay behind it.
    /// </summary>
    public void InsertAfter(SimTask task, SimTask anchor)
    {
        Queue.Insert(Queue.IndexOf(anchor) + 1, task);
    }

    /// <summary>The last task queued at <paramref name="prio"/>, or null.</summary>
    public SimTask? LastQueuedAt(int prio)
    {
        SimTask? last = null;
        foreach (SimTask t in Queue)
        {
            if (t.Prio < prio)
            {
                break;
            }

            if (t.Prio == prio)
            {
                last = t;
            }
        }

        return last;
    }

    /// <summary>
    /// The running task was raised behind a task still queued here at its priority: a switch is due at its
    /// next preemption point (the reschedule the queued task's wakeup left pending), as when a queued task
    /// outranks it.
    /// </summary>
    public bool RunsBehindQueued => Running is { } r && RaisedBehind is { } ahead && IsQueuedAt(ahead, r.Prio);

    /// <summary>True when <paramref name="anchor"/> is queued here at <paramref name="prio"/> (the raised runner's place behind it still holds).</summary>
    public bool IsQueuedAt(SimTask anchor, int prio) => anchor.Prio == prio && anchor.Cpu == Id && anchor.State == SimTaskState.Queued && Queue.Contains(anchor);

    public bool HasQueuedAt(int prio)
    {
        foreach (SimTask t in Queue)
        {
            if (t.Prio == prio)
            {
                return true;
            }

            if (t.Prio < prio)
            {
                return false;
            }
        }

        return false;
    }
}
