using System.Runtime.CompilerServices;
using RtRuntime.Hotplug;
using RtRuntime.Tasks;

namespace RtRuntime.PerCpu;

/// <summary>
/// An object pool with a cache per CPU, after the kernel's per-CPU free lists: rent and return go to
/// this CPU's cache under a <see cref="LocalLock"/> (no shared cache line on the fast path); an empty
/// cache refills a batch from the global pool (creating objects when that is empty too), a full one
/// spills a batch to it; a hotplug callback drains a CPU's cache into the global pool when the CPU
/// goes offline. Objects are never lost or duplicated: every object created is in exactly one cache,
/// in the global pool, or rented out. Under <see cref="RtSchedulerOptions.StrictChecks"/> the pool also
/// refuses a return of what it has not rented out (slub_debug's "Object already free" and "Wrong slab
/// cache"): an object returned twice would be handed to two renters.
/// </summary>
/// <typeparam name="T">The pooled type.</typeparam>
public sealed class PerCpuPool<T> : IDisposable
    where T : class
{
    private readonly Func<T> _factory;
    private readonly LocalLock _lock;
    private readonly PerCpu<Cache> _caches;
    private readonly Stack<T> _global = new();
    private readonly int _capacity;
    private readonly int _batch;
    private readonly HotplugRegistration _hotplug;

    // Strict mode only (null otherwise, so a rent or return pays one null test): every object this pool
    // made, with 1 while it is out on rent. Weak keys: an object a user drops instead of returning is
    // not kept alive by the check.
    private readonly ConditionalWeakTable<T, StrongBox<int>>? _owned;
    private long _created;

    /// <summary>Creates a pool.</summary>
    /// <param name="runtime">The runtime whose CPUs get caches.</param>
    /// <param name="factory">Creates an object when every cache and the global pool are empty.</param>
    /// <param name="cacheCapacity">Objects a CPU's cache holds (2..65536).</param>
    /// <param name="batch">Objects moved between a cache and the global pool at once (1..cacheCapacity).</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is out of range.</exception>
    public PerCpuPool(RtScheduler runtime, Func<T> factory, int cacheCapacity = 64, int batch = 16)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(factory);
        if (cacheCapacity is < 2 or > 65536)
        {
            throw new ArgumentOutOfRangeException(nameof(cacheCapacity), cacheCapacity, "cacheCapacity must be 2..65536.");
        }

        if (batch < 1 || batch > cacheCapacity)
        {
            throw new ArgumentOutOfRangeException(nameof(batch), batch, $"batch must be 1..{cacheCapacity} (cacheCapacity).");
        }

        _factory = factory;
        _capacity = cacheCapacity;
        _batch = batch;
        _lock = new LocalLock(runtime, "pool lock");
        _caches = new PerCpu<Cache>(runtime, _ => new Cache(cacheCapacity));
        _owned = runtime.Strict ? new ConditionalWeakTable<T, StrongBox<int>>() : null;
        // No calls (cpuhp_setup_state_nocalls): there is no online step to run (a cache starts empty), and
        // a constructor must not wait for the hotplug lock. Racing an offline needs no lock either: a CPU
        // vacated before the step snapshot runs no task, so no task of this pool, until it is back.
        // Dispose removes it without calls too: the drain must not run on an online CPU, where a task
        // preempted under the pool lock may be midway through that CPU's cache.
        _hotplug = runtime.RegisterHotplugNoCalls(new HotplugCallback("percpu-pool", null, DrainCpu));
    }

    /// <summary>Objects created by the factory so far.</summary>
    public long Created => Interlocked.Read(ref _created);

    /// <summary>Objects in the global pool now.</summary>
    public int GlobalCount
    {
        get
        {
            lock (_global)
            {
                return _global.Count;
            }
        }
    }

    /// <summary>Objects in CPU <paramref name="cpu"/>'s cache now (a racy snapshot while tasks run there).</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such CPU.</exception>
    public int CachedOn(int cpu) => Volatile.Read(ref _caches.Remote(cpu).Count);

    /// <summary>Rents an object from this CPU's cache.</summary>
    /// <exception cref="InvalidOperationException">Used off the task's CPU; the factory returned null; or, in strict mode, it returned an object this pool already made.</exception>
    /// <exception cref="ArgumentException"><paramref name="context"/> is a default value (no task's context), or its task belongs to another runtime.</exception>
    public async ValueTask<T> RentAsync(TaskContext context)
    {
        using (await _lock.LockAsync(context))
        {
            Cache cache = _caches.ThisCpu(context);
            if (cache.Count == 0)
            {
                Refill(cache);
            }

            if (cache.Count == 0)
            {
                return Create();
            }

            T item = cache.Pop();
            if (_owned is not null)
            {
                MarkRented(item);
            }

            return item;
        }
    }

    /// <summary>Returns an object to this CPU's cache.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="item"/> is null.</exception>
    /// <exception cref="InvalidOperationException">Used off the task's CPU.</exception>
    /// <exception cref="ArgumentException"><paramref name="context"/> is a default value (no task's context), or its task belongs to another runtime; or, in strict mode, <paramref name="item"/> is not out on rent from this pool (returned already, or not made by it): it is not pooled.</exception>
    public async ValueTask ReturnAsync(TaskContext context, T item)
    {
        ArgumentNullException.ThrowIfNull(item);
        using (await _lock.LockAsync(context))
        {
            if (_owned is not null)
            {
                // Under the lock: a return the lock refuses (another runtime's task, off the CPU) leaves the
                // object out on rent, to be returned properly.
                TakeBack(_owned, item);
            }

            Cache cache = _caches.ThisCpu(context);
            if (cache.Count == _capacity)
            {
                Spill(cache, _batch);
            }

            cache.Push(item);
        }
    }

    /// <summary>Unregisters the hotplug callback (without calls: no CPU's cache is drained).</summary>
    public void Dispose() => _hotplug.Dispose();

    private T Create()
    {
        T item = _factory() // counted once it exists: a factory that throws creates nothing
            ?? throw new InvalidOperationException($"The factory of this PerCpuPool<{typeof(T).Name}> returned null; it must create an object (a null could never be returned to the pool).");
        if (_owned is not null && !_owned.TryAdd(item, new StrongBox<int>(1)))
        {
            throw new InvalidOperationException($"The factory of this PerCpuPool<{typeof(T).Name}> returned {Describe(item)}, an object it had made before (pooled or out on rent); it must create a new object each time (one object would be rented to two tasks).");
        }

        Interlocked.Increment(ref _created);
        return item;
    }

    /// <summary>Strict mode: an object leaves the pool's caches for a renter.</summary>
    private void MarkRented(T item)
    {
        if (_owned!.TryGetValue(item, out StrongBox<int>? rented))
        {
            Volatile.Write(ref rented.Value, 1);
        }
    }

    /// <summary>
    /// Strict mode: the returned object must be out on rent from this pool; it is marked returned, once
    /// (an exchange, so two returns of one object racing on two CPUs cannot both pass).
    /// </summary>
    private static void TakeBack(ConditionalWeakTable<T, StrongBox<int>> owned, T item)
    {
        string? wrong = !owned.TryGetValue(item, out StrongBox<int>? rented) ? "was not created by this pool (it belongs to another pool, or to none)"
            : Interlocked.Exchange(ref rented.Value, 0) == 0 ? "was already returned to this pool and not rented again since (returned twice)"
            : null;
        if (wrong is not null)
        {
            throw new ArgumentException(
                $"item ({Describe(item)}) {wrong}; ReturnAsync takes only an object rented from this pool and not yet returned (checked under StrictChecks; pooled again, it would be rented to two tasks).",
                nameof(item));
        }
    }

    private static string Describe(T item) => $"{item.GetType().Name} '{item}'";

    private void Refill(Cache cache)
    {
        lock (_global)
        {
            while (cache.Count < _batch && _global.TryPop(out T? item))
            {
                cache.Push(item);
            }
        }
    }

    private void Spill(Cache cache, int count)
    {
        lock (_global)
        {
            for (int i = 0; i < count && cache.Count > 0; i++)
            {
                _global.Push(cache.Pop());
            }
        }
    }

    /// <summary>The offline step, on the dying CPU after it is vacated: its cache goes to the global pool.</summary>
    private void DrainCpu(int cpu)
    {
        Cache cache = _caches.Remote(cpu);
        Spill(cache, cache.Count);
    }

    /// <summary>
    /// One CPU's cache. The caches are allocated one after another, each object followed by its item
    /// array, so CPU n's cache object lies just past CPU n−1's array: the array ends with two cache lines
    /// of slots never used, so that the previous CPU's last items and this CPU's <see cref="Count"/>
    /// (written at every rent and return) do not share a line.
    /// </summary>
    private sealed class Cache(int capacity)
    {
        private static readonly int s_paddingSlots = 128 / IntPtr.Size;

        private readonly T?[] _items = new T?[capacity + s_paddingSlots];
        public int Count;

        public void Push(T item) => _items[Count++] = item;

        public T Pop()
        {
            T item = _items[--Count]!;
            _items[Count] = null;
            return item;
        }
    }
}
