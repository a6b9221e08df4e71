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
    private RtTask? _tail;

    /// <summary>Waiters on the list.</summary>
    public int Count { get; private set; }

    /// <summary>The highest waiter, or null.</summary>
    public readonly RtTask? Head => _head;

    /// <summary>
    /// Adds a waiter after every waiter of higher or equal priority. O(1) when it goes last (the
    /// common case: waiters of one priority queue FIFO) or first (above every waiter); otherwise it
    /// walks back from the tail over the waiters below its priority. (The kernel's <c>plist</c> would
    /// bound that walk by the number of distinct priorities, at two more links per task.)
    /// </summary>
    public void Insert(RtTask task)
    {
        RtTask? prev, next;
        if (_head is not null && task.Prio > _head.Prio)
        {
            (prev, next) = (null, _head);
        }
        else
        {
            (prev, next) = (_tail, null);
            while (prev is not null && prev.Prio < task.Prio)
            {
                next = prev;
                prev = prev.WaitPrev;
            }
        }

        task.WaitPrev = prev;
        task.WaitNext = next;
        if (prev is null)
        {
            _head = task;
        }
        else
        {
            prev.WaitNext = task;
        }

        if (next is null)
        {
            _tail = task;
        }
        else
        {
            next.WaitPrev = task;
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
        else
        {
            _tail = task.WaitPrev;
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
