using System.Diagnostics;
using System.Numerics;
using RtRuntime.Tasks;

namespace RtRuntime.Scheduling;

/// <summary>
/// A CPU's queue of runnable tasks that are not running: the kernel's <c>rt_prio_array</c> (a list per
/// priority and a bitmap of non-empty lists, so pick-next is O(1)) with the normal class as
/// priority 0 below RT 1..99. FIFO order within a priority; a preempted task goes back to the head
/// of its list, a yielding or slice-expired one to the tail.
/// Not thread-safe: every call is made under the owning CPU's lock.
/// </summary>
internal sealed class RunQueue
{
    public const int Levels = 100;

    // Struct slots, not RtTask?[]: storing into an array of a non-sealed class costs a covariance
    // check per store (StelemRef, 6% of a yield switch under perf).
    private readonly Slot[] _heads = new Slot[Levels];
    private readonly Slot[] _tails = new Slot[Levels];
    private ulong _map0; // priorities 0..63
    private ulong _map1; // priorities 64..99

    /// <summary>Number of queued tasks.</summary>
    public int Count { get; private set; }

    /// <summary>The highest queued priority, or −1 when empty.</summary>
    public int HighestPriority =>
        _map1 != 0 ? 127 - BitOperations.LeadingZeroCount(_map1)
        : _map0 != 0 ? 63 - BitOperations.LeadingZeroCount(_map0)
        : -1;

    /// <summary>The first queued task of <paramref name="prio"/>, or null.</summary>
    public RtTask? PeekHighestOf(int prio) => _heads[prio].Task;

    /// <summary>True when another task of <paramref name="prio"/> is queued.</summary>
    public bool HasPriority(int prio) => _heads[prio].Task is not null;

    public void Enqueue(RtTask task, bool atHead)
    {
        Debug.Assert(task.RqNext is null && task.RqPrev is null, "task already queued");
        int prio = task.Prio;
        RtTask? head = _heads[prio].Task;
        if (head is null)
        {
            _heads[prio].Task = task;
            _tails[prio].Task = task;
            SetBit(prio);
        }
        else if (atHead)
        {
            task.RqNext = head;
            head.RqPrev = task;
            _heads[prio].Task = task;
        }
        else
        {
            RtTask tail = _tails[prio].Task!;
            tail.RqNext = task;
            task.RqPrev = tail;
            _tails[prio].Task = task;
        }

        Count++;
    }

    /// <summary>Removes and returns the first task of the highest priority, or null.</summary>
    public RtTask? PopHighest()
    {
        int prio = HighestPriority;
        if (prio < 0)
        {
            return null;
        }

        RtTask task = _heads[prio].Task!;
        Remove(task);
        return task;
    }

    /// <summary>The first task of the highest priority, or null.</summary>
    public RtTask? PeekHighest()
    {
        int prio = HighestPriority;
        return prio < 0 ? null : _heads[prio].Task;
    }

    public void Remove(RtTask task)
    {
        int prio = task.Prio;
        RtTask? prev = task.RqPrev;
        RtTask? next = task.RqNext;
        if (prev is null)
        {
            Debug.Assert(_heads[prio].Task == task, "task not on this queue");
            _heads[prio].Task = next;
        }
        else
        {
            prev.RqNext = next;
        }

        if (next is null)
        {
            _tails[prio].Task = prev;
        }
        else
        {
            next.RqPrev = prev;
        }

        task.RqNext = task.RqPrev = null;
        if (_heads[prio].Task is null)
        {
            ClearBit(prio);
        }

        Count--;
    }

    /// <summary>
    /// The highest-priority queued task above <paramref name="abovePrio"/> that <paramref name="filter"/>
    /// takes (affinity, migrate-disable), scanning priorities from the top and each list in order.
    /// </summary>
    public RtTask? FindFirst<TFilter>(int abovePrio, ref TFilter filter)
        where TFilter : struct, ITaskFilter
    {
        for (int prio = HighestPriority; prio > abovePrio; prio--)
        {
            for (RtTask? t = _heads[prio].Task; t is not null; t = t.RqNext)
            {
                if (filter.Take(t))
                {
                    return t;
                }
            }
        }

        return null;
    }

    /// <summary>Every queued task, highest priority first (for snapshots and shutdown).</summary>
    public List<RtTask> ToList()
    {
        var list = new List<RtTask>(Count);
        for (int prio = Levels - 1; prio >= 0; prio--)
        {
            for (RtTask? t = _heads[prio].Task; t is not null; t = t.RqNext)
            {
                list.Add(t);
            }
        }

        return list;
    }

    private void SetBit(int prio)
    {
        if (prio < 64)
        {
            _map0 |= 1UL << prio;
        }
        else
        {
            _map1 |= 1UL << (prio - 64);
        }
    }

    private void ClearBit(int prio)
    {
        if (prio < 64)
        {
            _map0 &= ~(1UL << prio);
        }
        else
        {
            _map1 &= ~(1UL << (prio - 64));
        }
    }

    private struct Slot
    {
        public RtTask? Task;
    }
}
