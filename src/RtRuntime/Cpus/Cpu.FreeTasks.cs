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

    /// <summary>Pooled tasks this CPU retired for reuse (written by its thread only).</summary>
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
        Volatile.Write(ref TasksRetired, TasksRetired + 1);
    }

    /// <summary>Pushes the free list to the runtime's cache, where spawning threads take from (on this CPU's thread, outside any task).</summary>
    internal void FlushFreeTasks()
    {
        if (_freeTasks is { } head)
        {
            Scheduler.TaskCache.PushBatch(Id, head, _freeCount);
            _freeTasks = null;
            _freeCount = 0;
        }
    }
}
