using System.Diagnostics.CodeAnalysis;
using RtRuntime.Tasks;

namespace RtRuntime.Cpus;

/// <summary>
/// A CPU's sleepers ordered by deadline: the kernel's <c>timerqueue</c> under a CPU's hrtimer base.
/// A binary min-heap whose tasks remember their place in it (<see cref="RtTask.TimerSlot"/>), so that
/// a sleep ended early (cancellation, a task ending, hotplug) leaves in O(log n), as
/// <c>timerqueue_del()</c> does, instead of a scan of every sleeper while the CPU's lock is held.
/// Timers with the same deadline fire in the order they were armed, as in the kernel's rb-tree (an
/// equal key goes right of its equals in <c>timerqueue_add()</c>): each slot carries an arming
/// sequence that breaks ties, so that same-priority tasks sleeping until one deadline run in the order
/// they went to sleep. The sequences sit in an array beside the heap (4 B a slot) rather than in the
/// 16 B entries or the task, whose next 4 B would cost 8 (its small fields fill their 8-byte words).
/// Not thread-safe: the owning CPU's lock guards every call.
/// </summary>
internal sealed class TimerQueue
{
    private Entry[] _heap = [];

    // The arming sequence of the entry in the same slot of _heap: the tie-breaker of equal deadlines.
    private uint[] _seqs = [];
    private uint _nextSeq;
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
            int capacity = GrownCapacity(_heap.Length);
            Array.Resize(ref _heap, capacity);
            Array.Resize(ref _seqs, capacity);
        }

        if (_nextSeq == uint.MaxValue)
        {
            Renumber();
        }

        SiftUp(_count++, new Entry(expires, task), _nextSeq++);
    }

    /// <summary>The next arming sequence (for tests: set near its wrap to exercise <see cref="Renumber"/>).</summary>
    internal uint NextSequence
    {
        get => _nextSeq;
        set => _nextSeq = value;
    }

    /// <summary>
    /// Before the arming sequence wraps (once per 2^32 arms): gives the armed timers the sequences
    /// 0..n−1 in their firing order, so that ties keep breaking in arming order. A heap taken apart in
    /// order is sorted, and a sorted array is a heap, so the slots are refilled in that order.
    /// </summary>
    private void Renumber()
    {
        var inOrder = new Entry[_count];
        int n = _count;
        for (int i = 0; i < n; i++)
        {
            inOrder[i] = _heap[0];
            TakeRoot();
        }

        for (int i = 0; i < n; i++)
        {
            _seqs[i] = (uint)i;
            Place(i, inOrder[i]);
        }

        _count = n;
        _nextSeq = (uint)n;
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

    /// <summary>
    /// The highest priority among the tasks whose timers fire first (every timer at <see cref="NextExpiry"/>:
    /// the kernel's interrupt wakes them all at that instant) that wake on <paramref name="cpu"/> (their
    /// previous CPU, which their affinity allows), or −1 when none does or nothing is armed. Walks only
    /// those timers: the ones with the earliest deadline form a subtree at the heap's root.
    /// </summary>
    public int TopPrioDueFirst(Cpu cpu) => _count == 0 ? -1 : TopPrioDueAt(0, _heap[0].Expires, cpu);

    private int TopPrioDueAt(int i, long expires, Cpu cpu)
    {
        if (i >= _count || _heap[i].Expires != expires)
        {
            return -1;
        }

        RtTask task = _heap[i].Task;
        int top = task.Cpu == cpu && task.AffinityMask.Contains(cpu.Id) ? task.Prio : -1;
        return Math.Max(top, Math.Max(TopPrioDueAt((2 * i) + 1, expires, cpu), TopPrioDueAt((2 * i) + 2, expires, cpu)));
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

    /// <summary>
    /// Disarms every timer and returns them with their deadlines in firing order (hotplug), so that
    /// timers of one deadline keep their order when re-armed on another CPU, as
    /// <c>migrate_hrtimer_list()</c> moves them in <c>timerqueue_getnext()</c> order.
    /// </summary>
    public List<(RtTask Task, long Expires)> RemoveAll()
    {
        var all = new List<(RtTask Task, long Expires)>(_count);
        while (_count > 0)
        {
            all.Add((_heap[0].Task, _heap[0].Expires));
            TakeRoot();
        }

        if (_heap.Length > ShrinkFloor)
        {
            _heap = []; // a dying CPU's heap: nothing is armed on it while it is offline
            _seqs = [];
        }

        return all;
    }

    private void RemoveAt(int i)
    {
        RemoveSlot(i);
        ShrinkIfSparse();
    }

    // Removes the earliest timer without shrinking (RemoveAll and Renumber empty the heap in order).
    private void TakeRoot() => RemoveSlot(0);

    private void RemoveSlot(int i)
    {
        _heap[i].Task.TimerSlot = 0;
        Entry last = _heap[--_count];
        uint lastSeq = _seqs[_count];
        _heap[_count] = default;
        if (i == _count)
        {
            return;
        }

        if (i > 0 && Earlier(last.Expires, lastSeq, (i - 1) / 2))
        {
            SiftUp(i, last, lastSeq);
        }
        else
        {
            SiftDown(i, last, lastSeq);
        }
    }

    // Whether a timer (expires, seq) fires before the one in slot j: the deadline, then the arming order.
    private bool Earlier(long expires, uint seq, int j) =>
        expires < _heap[j].Expires || (expires == _heap[j].Expires && seq < _seqs[j]);

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
            var smallerSeqs = new uint[smaller.Length];
            Array.Copy(_heap, smaller, _count); // the slots stay the same: the tasks' TimerSlot is still exact
            Array.Copy(_seqs, smallerSeqs, _count);
            _heap = smaller;
            _seqs = smallerSeqs;
        }
    }

    // Moves the hole at i up until entry's parent fires first, then fills it.
    private void SiftUp(int i, Entry entry, uint seq)
    {
        while (i > 0)
        {
            int parent = (i - 1) / 2;
            if (!Earlier(entry.Expires, seq, parent))
            {
                break;
            }

            _seqs[i] = _seqs[parent];
            Place(i, _heap[parent]);
            i = parent;
        }

        _seqs[i] = seq;
        Place(i, entry);
    }

    // Moves the hole at i down until no child fires before entry, then fills it.
    private void SiftDown(int i, Entry entry, uint seq)
    {
        while (true)
        {
            int child = (2 * i) + 1;
            if (child >= _count)
            {
                break;
            }

            if (child + 1 < _count && Earlier(_heap[child + 1].Expires, _seqs[child + 1], child))
            {
                child++;
            }

            if (Earlier(entry.Expires, seq, child))
            {
                break;
            }

            _seqs[i] = _seqs[child];
            Place(i, _heap[child]);
            i = child;
        }

        _seqs[i] = seq;
        Place(i, entry);
    }

    private void Place(int i, Entry entry)
    {
        _heap[i] = entry;
        entry.Task.TimerSlot = i + 1;
    }

    private readonly record struct Entry(long Expires, RtTask Task);
}
