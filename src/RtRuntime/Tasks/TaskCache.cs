using RtRuntime.Cpus;

namespace RtRuntime.Tasks;

/// <summary>
/// The runtime's cache of task objects for <see cref="RtScheduler.RunAsync"/> (the kernel's
/// <c>task_struct_cachep</c>, a slab cache with per-CPU free lists). A pooled task that ended well
/// without ever blocking goes, on its CPU thread, to that CPU's free batch (<see cref="Cpu.FreeTask"/>,
/// no atomics); a full batch, or the batch of a CPU going idle, is pushed onto that CPU's stack here
/// with one compare-exchange; a spawning thread takes every batch of one stack at once with one
/// exchange into a list of its own (a thread static), and then takes one task per spawn from it
/// without atomics. It takes from the stack of the CPU pinned to the core it runs on first: the
/// objects there were last written on its own core, so reusing them moves no cache line between
/// cores. A spawn therefore allocates nothing once the cache is warm.
/// </summary>
/// <remarks>
/// Batches are linked through <see cref="RtTask.WaitNext"/>, the tasks of a batch through
/// <see cref="RtTask.RqNext"/>: a cached task is on no queue and waits on nothing. Each CPU's stack
/// holds about its share of <see cref="RtSchedulerOptions.TaskCacheCapacity"/> tasks (a soft bound:
/// racing pushes may pass it by a few batches); batches beyond that are left to the GC.
/// </remarks>
internal sealed class TaskCache
{
    /// <summary>Tasks a CPU frees before it pushes them here as one batch.</summary>
    internal const int BatchSize = 32;

    [ThreadStatic]
    private static Taker? t_taker; // what the calling thread took from the cache it last spawned on

    private readonly Stack[] _stacks;
    // Under _takersLock: every thread's taker of this cache, for Close. Weak: a thread that exits drops
    // its taker (its thread static) and the task objects in it to the GC; a strong list kept them for
    // as long as the runtime ran, one taken stack per thread that ever spawned.
    private readonly List<WeakReference<Taker>> _takers = [];
    private readonly Lock _takersLock = new();
    private int _pruneAt = 16;
    private bool _closed;
    private readonly int[] _cpuOfCore; // the first CPU pinned to each core, or −1
    private readonly int _capacityPerCpu;

    /// <param name="capacity">The cache's capacity in tasks, shared evenly by the CPUs.</param>
    /// <param name="cpuCores">Each CPU's core, or −1 when unpinned.</param>
    internal TaskCache(int capacity, int[] cpuCores)
    {
        _stacks = new Stack[cpuCores.Length];
        for (int i = 0; i < _stacks.Length; i++)
        {
            _stacks[i] = new Stack();
        }

        _capacityPerCpu = capacity == 0 ? 0 : Math.Max(BatchSize, capacity / cpuCores.Length);
        _cpuOfCore = new int[Math.Max(0, cpuCores.Max()) + 1];
        Array.Fill(_cpuOfCore, -1);
        for (int cpu = cpuCores.Length - 1; cpu >= 0; cpu--)
        {
            if (cpuCores[cpu] >= 0)
            {
                _cpuOfCore[cpuCores[cpu]] = cpu;
            }
        }
    }

    /// <summary>False when <see cref="RtSchedulerOptions.TaskCacheCapacity"/> is 0: nothing is retired or reused.</summary>
    internal bool Enabled => _capacityPerCpu > 0;

    /// <summary>
    /// A cached task for the calling thread to reincarnate, or null when the cache is empty or closed
    /// (the caller allocates). A thread keeps the batches it took from one runtime's cache; spawning
    /// on another runtime's drops them (to the GC), and so does the runtime's stop (<see cref="Close"/>).
    /// </summary>
    internal VoidRtTask? Take()
    {
        if (!Enabled)
        {
            return null; // nothing is ever cached: no thread statics, no look at the stacks
        }

        Taker? taker = t_taker;
        if (taker is null || taker.Owner != this)
        {
            taker = Adopt(taker);
            if (taker is null)
            {
                return null;
            }
        }

        RtTask? task = taker.Tasks;
        if (task is null)
        {
            task = taker.Batches ?? TakeBatches();
            if (task is null)
            {
                return null;
            }

            taker.Batches = task.WaitNext;
            task.WaitNext = null;
        }

        taker.Tasks = task.RqNext;
        task.RqNext = null;
        return (VoidRtTask)task;
    }

    /// <summary>
    /// The calling thread starts taking from this cache: what it held of another (or of this one before
    /// a <see cref="Close"/>) is dropped, and its new taker is listed so that the stop can drop it too.
    /// Null once the cache is closed.
    /// </summary>
    private Taker? Adopt(Taker? previous)
    {
        previous?.Release();
        t_taker = null;
        using (_takersLock.EnterScope())
        {
            if (_closed)
            {
                return null;
            }

            if (_takers.Count >= _pruneAt)
            {
                _takers.RemoveAll(static t => !t.TryGetTarget(out Taker? taker) || taker.Owner is null); // takers of threads that exited or left for another cache
                _pruneAt = Math.Max(16, 2 * _takers.Count);
            }

            var taker = new Taker(this);
            _takers.Add(new WeakReference<Taker>(taker));
            t_taker = taker;
            return taker;
        }
    }

    /// <summary>
    /// At the runtime's stop, once its CPU threads have exited: every thread's taken batches and the
    /// stacks are dropped, so that no thread that once spawned on the runtime keeps it (and up to
    /// <see cref="RtSchedulerOptions.TaskCacheCapacity"/> task objects) alive through its thread
    /// statics. A spawn that races the stop may still leave its thread one batch, until that thread
    /// spawns again (on any runtime).
    /// </summary>
    internal void Close()
    {
        using (_takersLock.EnterScope())
        {
            _closed = true;
            foreach (WeakReference<Taker> listed in _takers)
            {
                if (listed.TryGetTarget(out Taker? taker))
                {
                    taker.Release();
                }
            }

            _takers.Clear();
        }

        foreach (Stack stack in _stacks)
        {
            Volatile.Write(ref stack.Batches, null);
            Volatile.Write(ref stack.Count, 0);
        }
    }

    /// <summary>Every batch of one CPU's stack: the stack of the CPU on the calling thread's core first, else the first non-empty one.</summary>
    private RtTask? TakeBatches()
    {
        uint core = (uint)Thread.GetCurrentProcessorId();
        int first = core < (uint)_cpuOfCore.Length && _cpuOfCore[core] >= 0 ? _cpuOfCore[core] : 0;
        for (int i = 0; i < _stacks.Length; i++)
        {
            Stack stack = _stacks[(first + i) % _stacks.Length];
            if (Volatile.Read(ref stack.Batches) is not null)
            {
                RtTask? batches = Interlocked.Exchange(ref stack.Batches, null);
                Volatile.Write(ref stack.Count, 0);
                if (batches is not null)
                {
                    return batches;
                }
            }
        }

        return null;
    }

    /// <summary>
    /// Pushes CPU <paramref name="cpu"/>'s batch of <paramref name="count"/> freed tasks (linked through
    /// RqNext from <paramref name="head"/>) onto its stack; a full stack leaves it to the GC (false).
    /// </summary>
    internal bool PushBatch(int cpu, RtTask head, int count)
    {
        Stack stack = _stacks[cpu];
        if (Volatile.Read(ref stack.Count) + count > _capacityPerCpu)
        {
            return false;
        }

        Interlocked.Add(ref stack.Count, count);
        RtTask? top = Volatile.Read(ref stack.Batches);
        while (true)
        {
            head.WaitNext = top;
            RtTask? seen = Interlocked.CompareExchange(ref stack.Batches, head, top);
            if (seen == top)
            {
                return true;
            }

            top = seen;
        }
    }

    /// <summary>What one thread took from one cache: the batch being taken from (through RqNext) and the batches not yet started (through WaitNext).</summary>
    private sealed class Taker(TaskCache owner)
    {
        public TaskCache? Owner = owner;
        public RtTask? Tasks;
        public RtTask? Batches;

        /// <summary>Drops what the thread took (to the GC) and leaves the cache.</summary>
        public void Release()
        {
            Owner = null;
            Tasks = null;
            Batches = null;
        }
    }

    /// <summary>One CPU's stack of batches (its CPU pushes, spawning threads take), followed by padding so that two CPUs' stacks never share a line.</summary>
    private sealed class Stack
    {
        public RtTask? Batches;
        public int Count;
#pragma warning disable CS0169, IDE0051 // never read: keeps the next CPU's stack off these fields' cache lines
        private readonly CacheLinePadding _after;
#pragma warning restore CS0169, IDE0051
    }
}
