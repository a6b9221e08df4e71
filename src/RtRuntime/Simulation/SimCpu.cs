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
