namespace RtRuntime.Tasks;

/// <summary>
/// An intrusive list of blocked tasks in priority order (highest first, FIFO within a priority), linked
/// through <see cref="RtTask.WaitNext"/>/<see cref="RtTask.WaitPrev"/> (a task waits on one list at a
/// time). The order of an rt_mutex's waiters; used by wait queues and local locks. Not thread-safe:
/// the owner's lock guards it.
/// </summary>
/// <remarks>
/// A waiter goes after every waiter of higher or equal priority. That place is found in O(1): at the
/// tail (waiters of one priority queue FIFO), at the head (above every waiter), or after the last
/// waiter of its priority or of the nearest higher one, which the list remembers per priority once
/// priorities mix (the kernel's <c>plist</c> links the first node of each priority instead, at two more
/// links per task). A remembered waiter is used only after checking that it is still on this list and
/// that the new waiter belongs right after it, so a stale entry (its priority changed under priority
/// inheritance while it waited, or it left) costs a walk back from the tail, never the list's order.
/// </remarks>
internal struct WaiterList
{
    private RtTask? _head;
    private RtTask? _tail;
    private RtTask?[]? _lastOfPrio; // per priority: its last waiter (a hint, checked on use); made when priorities first mix

    /// <summary>Waiters on the list.</summary>
    public int Count { get; private set; }

    /// <summary>The highest waiter, or null.</summary>
    public readonly RtTask? Head => _head;

    /// <summary><see cref="Head"/> read with acquire semantics, for a reader off the list's lock that then reads what was published before it.</summary>
    public RtTask? HeadAcquire => Volatile.Read(ref _head);

    /// <summary>
    /// Adds a waiter after every waiter of higher or equal priority. <paramref name="owner"/> is what the
    /// waiters of this list are blocked on (their <see cref="RtTask.BlockedOn"/>): it tells a remembered
    /// waiter still on this list from one that left.
    /// </summary>
    public void Insert(RtTask task, object owner)
    {
        int prio = task.Prio;
        RtTask? prev;
        if (_tail is null || _tail.Prio >= prio)
        {
            prev = _tail; // last: FIFO within its priority (or the list is empty)
        }
        else if (_head!.Prio < prio)
        {
            prev = null; // first: above every waiter
        }
        else
        {
            prev = LastAtOrAbove(prio, owner);
        }

        LinkAfter(task, prev);
    }

    /// <summary>
    /// Adds a waiter ahead of every waiter of its priority (after the higher ones): a robbed RtMutex
    /// waiter goes back where it was, at the head of its priority (the kernel's woken top waiter never
    /// left the waiters' tree). Walks from the head past the higher waiters (none, mostly: a higher one
    /// would have stolen the mutex too).
    /// </summary>
    public void InsertFirstOfPrio(RtTask task)
    {
        int prio = task.Prio;
        RtTask? prev = null;
        for (RtTask? t = _head; t is not null && t.Prio > prio; t = t.WaitNext)
        {
            prev = t;
        }

        LinkAfter(task, prev);
    }

    /// <summary>Links <paramref name="task"/> after <paramref name="prev"/> (null: at the head), and remembers it as its priority's last when no waiter of that priority follows.</summary>
    private void LinkAfter(RtTask task, RtTask? prev)
    {
        int prio = task.Prio;
        RtTask? next = prev is null ? _head : prev.WaitNext;
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

        if (_lastOfPrio is not null && (next is null || next.Prio != prio))
        {
            _lastOfPrio[prio] = task;
        }

        Count++;
    }

    /// <summary>
    /// The waiter a new one of <paramref name="prio"/> goes after, when it goes between the head and the
    /// tail: the remembered last waiter of its priority, or of the nearest higher one present; a walk
    /// back from the tail when no remembered waiter checks out.
    /// </summary>
    private RtTask? LastAtOrAbove(int prio, object owner)
    {
        if (_lastOfPrio is null)
        {
            // Priorities mix for the first time: remember each one's last waiter (one walk, once per list).
            _lastOfPrio = new RtTask?[Scheduling.RunQueue.Levels];
            for (RtTask? t = _head; t is not null; t = t.WaitNext)
            {
                _lastOfPrio[t.Prio] = t;
            }
        }

        for (int p = prio; p < _lastOfPrio.Length; p++)
        {
            if (_lastOfPrio[p] is not { } last)
            {
                continue;
            }

            if (IsOnThisList(last, owner) && last.Prio >= prio && (last.WaitNext is null || last.WaitNext.Prio < prio))
            {
                return last;
            }

            if (!IsOnThisList(last, owner) || last.Prio != p)
            {
                _lastOfPrio[p] = null; // stale: it left, or its priority changed
            }
        }

        RtTask? prev = _tail;
        while (prev is not null && prev.Prio < prio)
        {
            prev = prev.WaitPrev;
        }

        return prev;
    }

    private readonly bool IsOnThisList(RtTask task, object owner) =>
        ReferenceEquals(task.BlockedOn, owner) && (task.WaitPrev is not null || _head == task);

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

        if (_lastOfPrio is not null && _lastOfPrio[task.Prio] == task)
        {
            _lastOfPrio[task.Prio] = task.WaitPrev is { } before && before.Prio == task.Prio ? before : null;
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
