using System.Diagnostics;
using System.Numerics;
using RtRuntime.Tasks;

namespace RtRuntime.Scheduling;

/// <summary>
/// A CPU's queue of runnable tasks that are not running: the kernel's <c>rt_prio_array</c> (a list per
/// priority and a bitmap of non-empty lists, so pick-next is O(1)) with the normal class as
/// priority 0 below RT 1..99. FIFO order within a priority; a preempted task goes back to the head
/// of its list, a yielding or slice-expired one to the tail.
/// Queued tasks whose affinity allows another CPU are also counted per priority (the kernel's
/// <c>pushable_tasks</c> and <c>rt_nr_migratory</c>): pulls and pushes look only at those, so a
/// long queue of tasks affine to this CPU alone costs a balancing CPU nothing, as in the kernel,
/// where such a queue does not even mark its CPU overloaded.
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
    private readonly int _cpuId;
    private readonly int[] _pushable = new int[Levels];
    private ulong _pushMap0;
    private ulong _pushMap1;

    // Per priority: where a scan for pushable tasks may start, a queued task with no pushable task
    // before it in its list (null: at the head). The scan leaves it at the first pushable task it finds;
    // a removed scan start hands it to the task before it; a pushable task enqueued at the head, or
    // made pushable in place, resets it. All O(1), so a list of many tasks affine to this CPU alone
    // ahead of pushable ones is walked once, not at every pull (the kernel keeps a separate plist of
    // pushable tasks instead, at a node per task).
    private readonly Slot[] _scanStart = new Slot[Levels];

    /// <summary>A queue for CPU <paramref name="cpuId"/> (a task is pushable when its affinity allows another CPU).</summary>
    public RunQueue(int cpuId) => _cpuId = cpuId;

    /// <summary>Number of queued tasks.</summary>
    public int Count { get; private set; }

    /// <summary>The highest queued priority, or −1 when empty.</summary>
    public int HighestPriority => Highest(_map0, _map1);

    /// <summary>The highest priority with a pushable task queued (one whose affinity allows another CPU), or −1.</summary>
    public int HighestPushable => Highest(_pushMap0, _pushMap1);

    /// <summary>The first queued task of <paramref name="prio"/>, or null.</summary>
    public RtTask? PeekHighestOf(int prio) => _heads[prio].Task;

    /// <summary>
    /// True when <paramref name="task"/> is on this queue (given it is Queued with this queue's CPU: a
    /// task on the CPU's wake list is linked through RqNext only, and is neither a list's head nor has
    /// a previous).
    /// </summary>
    public bool Contains(RtTask task) => task.RqPrev is not null || _heads[task.Prio].Task == task;

    /// <summary>True when another task of <paramref name="prio"/> is queued.</summary>
    public bool HasPriority(int prio) => _heads[prio].Task is not null;

    /// <summary>The last queued task of <paramref name="prio"/>, or null.</summary>
    public RtTask? PeekTailOf(int prio) => _tails[prio].Task;

    /// <summary>
    /// Puts <paramref name="task"/> right behind <paramref name="anchor"/>, a task queued here at the same
    /// priority: the place in its list of a running task raised to that priority behind the tasks
    /// queued there then (<c>__sched_setscheduler</c>'s tail enqueue), which later tasks of that priority
    /// queued behind.
    /// </summary>
    public void EnqueueAfter(RtTask task, RtTask anchor)
    {
        Debug.Assert(task.RqNext is null && task.RqPrev is null, "task already queued");
        Debug.Assert(anchor.Prio == task.Prio && Contains(anchor), "anchor not queued at the task's priority");
        int prio = task.Prio;
        RtTask? next = anchor.RqNext;
        task.RqPrev = anchor;
        task.RqNext = next;
        anchor.RqNext = task;
        if (next is null)
        {
            _tails[prio].Task = task;
        }
        else
        {
            next.RqPrev = task;
        }

        Count++;
        if (task.SoleCpu != _cpuId)
        {
            _scanStart[prio].Task = null; // it may sit before the scan start: scan from the head
            CountPushable(task, prio);
        }
    }

    public void Enqueue(RtTask task, bool atHead)
    {
        Debug.Assert(task.RqNext is null && task.RqPrev is null, "task already queued");
        int prio = task.Prio;
        RtTask? head = _heads[prio].Task;
        if (head is null)
        {
            _heads[prio].Task = task;
            _tails[prio].Task = task;
            SetBit(ref _map0, ref _map1, prio);
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
        if (task.SoleCpu != _cpuId)
        {
            if (atHead)
            {
                _scanStart[prio].Task = null; // a pushable task before the scan start: scan from the head
            }

            CountPushable(task, prio);
        }
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
            ClearBit(ref _map0, ref _map1, prio);
        }

        if (_scanStart[prio].Task == task)
        {
            _scanStart[prio].Task = prev; // no pushable task before it either
        }

        Count--;
        if (task.QueuedPushable)
        {
            UncountPushable(task, prio);
        }
    }

    /// <summary>A queued task's affinity changed in place (its position is kept): counts it pushable or not anew.</summary>
    public void RequalifyPushable(RtTask task)
    {
        bool pushable = task.SoleCpu != _cpuId;
        if (pushable && !task.QueuedPushable)
        {
            _scanStart[task.Prio].Task = null; // it may sit before the scan start
            CountPushable(task, task.Prio);
        }
        else if (!pushable && task.QueuedPushable)
        {
            UncountPushable(task, task.Prio);
        }
    }

    private void CountPushable(RtTask task, int prio)
    {
        task.QueuedPushable = true;
        if (_pushable[prio]++ == 0)
        {
            SetBit(ref _pushMap0, ref _pushMap1, prio);
        }
    }

    private void UncountPushable(RtTask task, int prio)
    {
        task.QueuedPushable = false;
        if (--_pushable[prio] == 0)
        {
            ClearBit(ref _pushMap0, ref _pushMap1, prio);
        }
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

    /// <summary>
    /// <see cref="FindFirst{TFilter}"/> over the pushable tasks only (pick_highest_pushable_task): the
    /// filter never sees a task affine to this CPU alone, priorities without a pushable task are
    /// skipped, and a priority's scan starts where the last one found its first pushable task (see
    /// the scan start), not at the head of its list.
    /// </summary>
    public RtTask? FindFirstPushable<TFilter>(int abovePrio, ref TFilter filter)
        where TFilter : struct, ITaskFilter
    {
        for (int prio = HighestPushable; prio > abovePrio; prio--)
        {
            if (_pushable[prio] == 0)
            {
                continue;
            }

            RtTask? first = _scanStart[prio].Task ?? _heads[prio].Task;
            while (first is not null && !first.QueuedPushable)
            {
                first = first.RqNext;
            }

            _scanStart[prio].Task = first;

            for (RtTask? t = first; t is not null; t = t.RqNext)
            {
                if (t.QueuedPushable && filter.Take(t))
                {
                    return t;
                }
            }
        }

        return null;
    }

    /// <summary>Every queued task, highest priority first (for snapshots and shutdown).</summary>
    public List<RtTask> ToList() => ToList(-1);

    /// <summary>
    /// The queued tasks above <paramref name="abovePrio"/>, highest priority first: a walk of those
    /// levels only, not of every queued task.
    /// </summary>
    public List<RtTask> ToList(int abovePrio)
    {
        var list = new List<RtTask>(abovePrio < 0 ? Count : 0);
        for (int prio = Levels - 1; prio > abovePrio; prio--)
        {
            for (RtTask? t = _heads[prio].Task; t is not null; t = t.RqNext)
            {
                list.Add(t);
            }
        }

        return list;
    }

    private static int Highest(ulong map0, ulong map1) =>
        map1 != 0 ? 127 - BitOperations.LeadingZeroCount(map1)
        : map0 != 0 ? 63 - BitOperations.LeadingZeroCount(map0)
        : -1;

    private static void SetBit(ref ulong map0, ref ulong map1, int prio)
    {
        if (prio < 64)
        {
            map0 |= 1UL << prio;
        }
        else
        {
            map1 |= 1UL << (prio - 64);
        }
    }

    private static void ClearBit(ref ulong map0, ref ulong map1, int prio)
    {
        if (prio < 64)
        {
            map0 &= ~(1UL << prio);
        }
        else
        {
            map1 &= ~(1UL << (prio - 64));
        }
    }

    private struct Slot
    {
        public RtTask? Task;
    }
}
