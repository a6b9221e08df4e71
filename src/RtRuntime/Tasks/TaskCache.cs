using RtRuntime.Cpus;

namespace RtRuntime.Tasks;

/// <summary>
/// The runtime's cache of task objects for <see cref="RtScheduler.RunAsync"/> (the kernel's
/// <c>task_struct_cachep</c>, a slab cache with per-CPU free lists). A pooled task that ended well
/// without ever blocking goes, on its CPU thread, to that CPU's free batch (<see cref="Cpu.FreeTask"/>,
/// no atomics); a full batch, or the batch of a CPU going idle, is pushed here with one compare-exchange;
/// a spawning thread takes every batch at once with one exchange into a list of its own (a thread
/// static), and then takes one task per spawn from it without atomics. A spawn therefore allocates
/// nothing once the cache is warm: on these virtual machines a spawn's bytes cost more than its
/// instructions, because the GC gives collected gen0 pages back and faults them in again at ~11 µs a
/// page (docs/benchmarks.md).
/// </summary>
/// <remarks>
/// Batches are linked through <see cref="RtTask.WaitNext"/>, the tasks of a batch through
/// <see cref="RtTask.RqNext"/>: a cached task is on no queue and waits on nothing. The shared stack
/// holds about <see cref="RtSchedulerOptions.TaskCacheCapacity"/> tasks (a soft bound: racing pushes
/// may pass it by a few batches); batches beyond that are left to the GC.
/// </remarks>
internal sealed class TaskCache(int capacity)
{
    /// <summary>Tasks a CPU frees before it pushes them here as one batch.</summary>
    internal const int BatchSize = 32;

    [ThreadStatic]
    private static TaskCache? t_owner;

    [ThreadStatic]
    private static RtTask? t_tasks; // the batch being taken from, through RqNext

    [ThreadStatic]
    private static RtTask? t_batches; // the batches taken but not yet started, through WaitNext

    private RtTask? _batches;
    private int _count;

    /// <summary>
    /// A cached task for the calling thread to reincarnate, or null when the cache is empty (the
    /// caller allocates). A thread keeps the batches it took from one runtime's cache; spawning on
    /// another runtime's drops them (to the GC).
    /// </summary>
    internal VoidRtTask? Take()
    {
        if (t_owner != this)
        {
            if (Volatile.Read(ref _batches) is null)
            {
                return null;
            }

            t_owner = this;
            t_tasks = null;
            t_batches = null;
        }

        RtTask? task = t_tasks;
        if (task is null)
        {
            task = t_batches;
            if (task is null)
            {
                if (Volatile.Read(ref _batches) is null)
                {
                    return null;
                }

                task = Interlocked.Exchange(ref _batches, null);
                Volatile.Write(ref _count, 0);
                if (task is null)
                {
                    return null;
                }
            }

            t_batches = task.WaitNext;
            task.WaitNext = null;
        }

        t_tasks = task.RqNext;
        task.RqNext = null;
        return (VoidRtTask)task;
    }

    /// <summary>
    /// Pushes a CPU's batch of <paramref name="count"/> freed tasks (linked through RqNext from
    /// <paramref name="head"/>); a full cache leaves it to the GC.
    /// </summary>
    internal void PushBatch(RtTask head, int count)
    {
        if (Volatile.Read(ref _count) + count > capacity)
        {
            return;
        }

        Interlocked.Add(ref _count, count);
        RtTask? top = Volatile.Read(ref _batches);
        while (true)
        {
            head.WaitNext = top;
            RtTask? seen = Interlocked.CompareExchange(ref _batches, head, top);
            if (seen == top)
            {
                return;
            }

            top = seen;
        }
    }
}
