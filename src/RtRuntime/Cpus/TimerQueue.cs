using System.Diagnostics.CodeAnalysis;
using RtRuntime.Tasks;

namespace RtRuntime.Cpus;

/// <summary>
/// A CPU's sleepers ordered by deadline: the kernel's <c>timerqueue</c> under a CPU's hrtimer base.
/// A binary min-heap whose tasks remember their place in it (<see cref="RtTask.TimerSlot"/>), so that
/// a sleep ended early (cancellation, a task ending, hotplug) leaves in O(log n), as
/// <c>timerqueue_del()</c> does, instead of a scan of every sleeper while the CPU's lock is held.
/// Not thread-safe: the owning CPU's lock guards every call.
/// </summary>
internal sealed class TimerQueue
{
    private Entry[] _heap = [];
    private int _count;

    /// <summary>The number of armed timers.</summary>
    public int Count => _count;

    /// <summary>The heap's slots, armed or empty (for tests).</summary>
    internal int Capacity => _heap.Length;

    /// <summary>The earliest deadline, or <see cref="long.MaxValue"/> when none is armed.</summary>
    public long NextExpiry => _count > 0 ? _heap[0].Expires : long.MaxValue;

    /// <summary><c>timerqueue_add()</c>: arms <paramref name="task"/>'s timer for <paramref name="expires"/>.</summary>
    /// <exception cref="InvalidOperationException">The task's timer is already armed (on this CPU or another).</exception>
    public void Add(RtTask task, long expires)
    {
        if (task.TimerSlot != 0)
        {
            throw new InvalidOperationException($"Task '{task.Name}' is already in a timer queue (slot {task.TimerSlot}): a task sleeps on one timer at a time.");
        }

        if (_count == _heap.Length)
        {
            Array.Resize(ref _heap, GrownCapacity(_heap.Length));
        }

        SiftUp(_count++, new Entry(expires, task));
    }

    /// <summary>
    /// The heap's next capacity: doubling while small, then a quarter more at a time, so that a CPU with
    /// many sleepers holds at most a fifth of its slots empty (4 B per sleeper at 16 B a slot) instead of
    /// half (16 B per sleeper just after a doubling). With doubling, what 100,000 sleepers retained
    /// depended on how placement split them between two CPUs: 249.8–261.1 B per sleeping task in
    /// perf/compare section 6, against the 256 B target (docs/benchmarks.md).
    /// </summary>
    internal static int GrownCapacity(int capacity) => capacity < 1024 ? Math.Max(4, capacity * 2) : capacity + (capacity / 4);

    /// <summary>
    /// The most slots the heap keeps however few timers are armed (16 KB): past it, a heap three
    /// quarters empty halves (<see cref="ShrinkIfSparse"/>), so that a CPU whose many sleepers left
    /// (cancelled, woken, moved by hotplug) does not hold their slots for as long as it lives, as the
    /// kernel's timerqueue, a tree of nodes inside the sleepers, holds nothing once they are gone.
    /// Without it, 100,000 cancelled sleepers left ~2 MB on their CPU for good.
    /// </summary>
    internal const int ShrinkFloor = 1024;

    /// <summary><c>timerqueue_getnext()</c>: the earliest timer, when one is armed.</summary>
    public bool TryPeek([NotNullWhen(true)] out RtTask? task, out long expires)
    {
        if (_count == 0)
        {
            task = null;
            expires = long.MaxValue;
            return false;
        }

        (expires, task) = (_heap[0].Expires, _heap[0].Task);
        return true;
    }

    /// <summary>Removes and returns the earliest timer's task when its deadline is at or before <paramref name="now"/>.</summary>
    public bool TryTakeExpired(long now, [NotNullWhen(true)] out RtTask? task)
    {
        if (_count == 0 || _heap[0].Expires > now)
        {
            task = null;
            return false;
        }

        task = _heap[0].Task;
        RemoveAt(0);
        return true;
    }

    /// <summary><c>timerqueue_del()</c>: disarms <paramref name="task"/>'s timer; false when it is not armed here.</summary>
    public bool Remove(RtTask task)
    {
        int i = task.TimerSlot - 1;
        if ((uint)i >= (uint)_count || _heap[i].Task != task)
        {
            return false; // not armed, or armed on another CPU's queue (its slot is that queue's)
        }

        RemoveAt(i);
        return true;
    }

    /// <summary>Disarms every timer and returns them with their deadlines, in no particular order (hotplug).</summary>
    public List<(RtTask Task, long Expires)> RemoveAll()
    {
        var all = new List<(RtTask Task, long Expires)>(_count);
        for (int i = 0; i < _count; i++)
        {
            _heap[i].Task.TimerSlot = 0;
            all.Add((_heap[i].Task, _heap[i].Expires));
        }

        if (_heap.Length > ShrinkFloor)
        {
            _heap = []; // a dying CPU's heap: nothing is armed on it while it is offline
        }
        else
        {
            Array.Clear(_heap, 0, _count);
        }

        _count = 0;
        return all;
    }

    private void RemoveAt(int i)
    {
        _heap[i].Task.TimerSlot = 0;
        Entry last = _heap[--_count];
        _heap[_count] = default;
        if (i == _count)
        {
            ShrinkIfSparse();
            return;
        }

        if (i > 0 && last.Expires < _heap[(i - 1) / 2].Expires)
        {
            SiftUp(i, last);
        }
        else
        {
            SiftDown(i, last);
        }

        ShrinkIfSparse();
    }

    /// <summary>
    /// After a removal: past <see cref="ShrinkFloor"/>, a heap with under a quarter of its slots armed
    /// halves. It is then at most half full, so that it grows again only after its timers have doubled,
    /// and shrinks again only after they have halved: each resize copies at most the armed entries
    /// (no more than a quarter of the old slots), paid for by the removals since the last one.
    /// </summary>
    private void ShrinkIfSparse()
    {
        if (_heap.Length > ShrinkFloor && _count < _heap.Length / 4)
        {
            var smaller = new Entry[Math.Max(ShrinkFloor, _heap.Length / 2)];
            Array.Copy(_heap, smaller, _count); // the slots stay the same: the tasks' TimerSlot is still exact
            _heap = smaller;
        }
    }

    // Moves the hole at i up until entry's parent is not later, then fills it.
    private void SiftUp(int i, Entry entry)
    {
        while (i > 0)
        {
            int parent = (i - 1) / 2;
            if (_heap[parent].Expires <= entry.Expires)
            {
                break;
            }

            Place(i, _heap[parent]);
            i = parent;
        }

        Place(i, entry);
    }

    // Moves the hole at i down until no child is earlier than entry, then fills it.
    private void SiftDown(int i, Entry entry)
    {
        while (true)
        {
            int child = (2 * i) + 1;
            if (child >= _count)
            {
                break;
            }

            if (child + 1 < _count && _heap[child + 1].Expires < _heap[child].Expires)
            {
                child++;
            }

            if (entry.Expires <= _heap[child].Expires)
            {
                break;
            }

            Place(i, _heap[child]);
            i = child;
        }

        Place(i, entry);
    }

    private void Place(int i, Entry entry)
    {
        _heap[i] = entry;
        entry.Task.TimerSlot = i + 1;
    }

    private readonly record struct Entry(long Expires, RtTask Task);
}
