namespace RtRuntime.Tasks;

/// <summary>
/// An intrusive list of blocked tasks in priority order (highest first, FIFO within a priority), linked
/// through <see cref="RtTask.WaitNext"/>/<see cref="RtTask.WaitPrev"/> (a task waits on one list at a
/// time). The order of an rt_mutex's waiters; used by wait queues and local locks. Not thread-safe:
/// the owner's lock guards it.
/// </summary>
internal struct WaiterList
{
    private RtTask? _head;

    /// <summary>Waiters on the list.</summary>
    public int Count { get; private set; }

    /// <summary>The highest waiter, or null.</summary>
    public readonly RtTask? Head => _head;

    /// <summary>Adds a waiter after every waiter of higher or equal priority.</summary>
    public void Insert(RtTask task)
    {
        RtTask? prev = null;
        RtTask? cur = _head;
        while (cur is not null && cur.Prio >= task.Prio)
        {
            prev = cur;
            cur = cur.WaitNext;
        }

        task.WaitPrev = prev;
        task.WaitNext = cur;
        if (prev is null)
        {
            _head = task;
        }
        else
        {
            prev.WaitNext = task;
        }

        if (cur is not null)
        {
            cur.WaitPrev = task;
        }

        Count++;
    }

    /// <summary>True when the task is on this list (given it is on at most one list).</summary>
    public readonly bool Contains(RtTask task) => task.WaitPrev is not null || _head == task;

    /// <summary>Removes a waiter; false when it is not on the list.</summary>
    public bool Remove(RtTask task)
    {
        if (!Contains(task))
        {
            return false;
        }

        if (task.WaitPrev is { } prev)
        {
            prev.WaitNext = task.WaitNext;
        }
        else
        {
            _head = task.WaitNext;
        }

        if (task.WaitNext is { } next)
        {
            next.WaitPrev = task.WaitPrev;
        }

        task.WaitNext = task.WaitPrev = null;
        Count--;
        return true;
    }

    /// <summary>Removes and returns the highest waiter, or null.</summary>
    public RtTask? Pop()
    {
        RtTask? task = _head;
        if (task is not null)
        {
            Remove(task);
        }

        return task;
    }
}
