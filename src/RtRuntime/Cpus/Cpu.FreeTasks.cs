using RtRuntime.Tasks;

namespace RtRuntime.Cpus;

/// <summary>
/// This CPU's free list of ended pooled tasks (the per-CPU side of <see cref="TaskCache"/>, as a
/// slab cache's per-CPU array): filled and emptied by this CPU's thread only, so freeing a task takes
/// no atomic. A task freed here may still be referenced by the dispatcher until its switch-out ends,
/// so a batch is pushed to the shared cache only when the next task is freed or the CPU goes idle,
/// when nothing on this thread refers to the tasks in it any more.
/// </summary>
internal sealed partial class Cpu
{
    private RtTask? _freeTasks; // through RqNext
    private int _freeCount;

    /// <summary>Pooled tasks this CPU handed to the cache for reuse, a batch at a time (written by its thread only); not those a full cache left to the GC.</summary>
    public long TasksRetired;

    /// <summary>Keeps an ended pooled task for reuse (on this CPU's thread, from the task's end).</summary>
    internal void FreeTask(RtTask task)
    {
        if (_freeCount >= TaskCache.BatchSize)
        {
            FlushFreeTasks(); // every task in it ended before this one: the dispatcher is done with them
        }

        task.RqNext = _freeTasks;
        _freeTasks = task;
        _freeCount++;
    }

    /// <summary>Pushes the free list to the runtime's cache, where spawning threads take from (on this CPU's thread, outside any task).</summary>
    internal void FlushFreeTasks()
    {
        if (_freeTasks is { } head)
        {
            if (Scheduler.TaskCache.PushBatch(Id, head, _freeCount))
            {
                Volatile.Write(ref TasksRetired, TasksRetired + _freeCount);
            }

            _freeTasks = null;
            _freeCount = 0;
        }
    }
}
