using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.ObjectPool;
using RtRuntime.Cpus;
using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Stress;

/// <summary>
/// Per-CPU data against the shared alternatives, one task pinned to each CPU, each method for an equal
/// share of the duration: <see cref="PerCpuCounter"/> vs one <see cref="Interlocked"/> counter vs
/// <see cref="ThreadLocal{T}"/> (increments/s), and <see cref="PerCpuPool{T}"/> vs
/// <see cref="ConcurrentBag{T}"/>, <see cref="ArrayPool{T}.Shared"/> and
/// Microsoft.Extensions.ObjectPool's <see cref="DefaultObjectPool{T}"/> (rent+return pairs/s). The
/// figures are reported, never asserted; the invariants are that every sum is exact and that the
/// pools neither lose nor duplicate objects.
/// </summary>
public sealed class PerCpuScenario : StressScenario
{
    private const int Batch = 256;

    /// <summary>The longest untimed warm-up of a method (otherwise a fifth of its share of the duration).</summary>
    private const long MaxWarmupNs = 100_000_000;

    /// <summary>The methods compared, in run order.</summary>
    public static readonly IReadOnlyList<string> Methods =
        ["PerCpuCounter", "Interlocked", "ThreadLocal", "PerCpuPool", "ConcurrentBag", "ArrayPool.Shared", "DefaultObjectPool"];

    /// <summary>Creates the scenario (name <c>percpu</c> by default).</summary>
    /// <param name="name">The name shown in reports.</param>
    public PerCpuScenario(string name = "percpu")
        : base(name)
    {
    }

    /// <inheritdoc/>
    public override string Kind => "percpu";

    /// <inheritdoc/>
    protected override async Task RunCoreAsync(StressSettings settings, ScenarioResult result, IProgress<ScenarioProgress>? progress, CancellationToken cancellationToken)
    {
        int cpus = settings.EffectiveCpuCount;
        long durationNs = RtClock.ToNs(settings.Duration);
        // Each method's share of the duration starts with an untimed warm-up (a fifth of it, at most 100 ms):
        // its code tiers up and its pool fills before it is timed, so the first method measured is not the
        // one that pays for the JIT and the cold caches.
        long shareNs = durationNs / Methods.Count;
        long warmupNs = Math.Min(shareNs / 5, MaxWarmupNs);
        long phaseNs = shareNs - warmupNs;
        result.Parameters["tasks"] = cpus.ToString(CultureInfo.InvariantCulture);
        result.Parameters["phase"] = FormatDuration(TimeSpan.FromTicks(phaseNs / 100));
        result.Parameters["warmup"] = FormatDuration(TimeSpan.FromTicks(warmupNs / 100));
        InvariantChecker checker = CreateChecker(settings, result, cancellationToken); // their tasks end by themselves: only Ctrl+C cancels them
        await using RtScheduler rt = StartRuntime(settings.ToRuntimeOptions(settings.Policy));
        checker.Attach(rt);

        var counter = new PerCpuCounter(rt);
        long shared = 0;
        using var threadLocal = new ThreadLocal<long>(trackAllValues: true);
        using var perCpuPool = new PerCpuPool<PoolItem>(rt, () => new PoolItem(), cacheCapacity: 64, batch: 16);
        var bag = new ConcurrentBag<PoolItem>();
        long bagCreated = 0;
        var objectPolicy = new CountingPolicy();
        var objectPool = new DefaultObjectPool<PoolItem>(objectPolicy, Math.Max(2, cpus * 2));
        long start = RtClock.NowNs();
        var rates = new double[Methods.Count];
        var totals = new long[Methods.Count]; // timed operations
        var warmups = new long[Methods.Count]; // untimed warm-up operations (in the sums, not in the rates)
        Task run = RunPhasesAsync();
        await WatchAsync(run, start, durationNs, progress, () => $"{checker.Checks} checks, {checker.Violations.Count} violations").ConfigureAwait(false);
        await checker.StopAndCheckAsync(rt, TimeSpan.FromSeconds(30)).ConfigureAwait(false);

        checker.CheckEqual(Invariants.PerCpuSumExact, "PerCpuCounter.Sum() vs the increments made", totals[0] + warmups[0], counter.Sum());
        checker.CheckEqual(Invariants.PerCpuSumExact, "the shared Interlocked counter vs the increments made", totals[1] + warmups[1], Interlocked.Read(ref shared));
        checker.CheckEqual(Invariants.PerCpuSumExact, "ThreadLocal<long> values summed vs the increments made", totals[2] + warmups[2], threadLocal.Values.Sum());
        long held = perCpuPool.GlobalCount + Enumerable.Range(0, cpus).Sum(perCpuPool.CachedOn);
        checker.CheckEqual(Invariants.PoolAccounting, "PerCpuPool: global + cached objects vs Created", perCpuPool.Created, held);
        checker.CheckEqual(Invariants.PoolAccounting, "ConcurrentBag: objects in the bag vs created", Interlocked.Read(ref bagCreated), bag.Count);
        Collect(checker, result);

        string[] keys = ["percpu_counter", "interlocked", "threadlocal", "percpu_pool", "concurrent_bag", "array_pool", "object_pool"];
        for (int i = 0; i < Methods.Count; i++)
        {
            result.AddFigure(keys[i] + "_ops_per_s", rates[i], "1/s", summary: i == 0);
        }

        double Ratio(int a, int b) => rates[b] > 0 ? rates[a] / rates[b] : double.NaN;
        result.AddFigure("counter_ratio_percpu_vs_interlocked", Ratio(0, 1), "x", summary: true);
        result.AddFigure("counter_ratio_percpu_vs_threadlocal", Ratio(0, 2), "x");
        result.AddFigure("pool_ratio_percpu_vs_concurrent_bag", Ratio(3, 4), "x", summary: true);
        result.AddFigure("pool_ratio_percpu_vs_array_pool", Ratio(3, 5), "x");
        result.AddFigure("pool_ratio_percpu_vs_object_pool", Ratio(3, 6), "x");
        result.AddFigure("percpu_pool_created", perCpuPool.Created, "count");
        result.AddFigure("concurrent_bag_created", Interlocked.Read(ref bagCreated), "count");
        result.AddFigure("object_pool_created", objectPolicy.Created, "count");
        result.Tables.Add(new ResultTable($"Operations per second, {cpus} task(s) on {cpus} CPU(s) (a pool operation is one rent + one return)",
            ["method", "operations", "ops/s", "vs first of its group"],
            Enumerable.Range(0, Methods.Count).Select(i => (IReadOnlyList<string>)
            [
                Methods[i], totals[i].ToString(CultureInfo.InvariantCulture), ScenarioResult.Format(rates[i]), ScenarioResult.Format(i < 3 ? Ratio(i, 0) : Ratio(i, 3)),
            ]).ToList()));
        result.Bars.Add(new BarSeries("counters", "Counter increments per second", "ops/s", [.. Methods.Take(3)], [.. rates.Take(3)]));
        result.Bars.Add(new BarSeries("pools", "Pool rent+return pairs per second", "ops/s", [.. Methods.Skip(3)], [.. rates.Skip(3)]));

        async Task RunPhasesAsync()
        {
            for (int m = 0; m < Methods.Count && !cancellationToken.IsCancellationRequested; m++)
            {
                int method = m;
                long warmupStart = RtClock.NowNs() + 2_000_000; // all tasks start together
                long phaseStart = warmupStart + warmupNs;
                long phaseEnd = phaseStart + phaseNs;
                var ops = new long[cpus];
                var warm = new long[cpus];
                var tasks = new List<Task>();
                for (int cpu = 0; cpu < cpus; cpu++)
                {
                    int slot = cpu;
                    string name = $"percpu/{Methods[method]}/{cpu}";
                    RtTask t = rt.Spawn(name, 50, ctx => LoopAsync(ctx, name, method, slot, warmupStart, phaseStart, phaseEnd, ops, warm), SchedPolicy.Fifo, CpuSet.Of(cpu), cancellationToken);
                    checker.Track(t);
                    tasks.Add(t.AsTask());
                }

                await Task.WhenAll(tasks.Select(t => t.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default))).ConfigureAwait(false);
                long lastEnd = Math.Max(RtClock.NowNs(), phaseEnd);
                totals[method] = ops.Sum();
                warmups[method] = warm.Sum();
                rates[method] = totals[method] / ((lastEnd - phaseStart) / 1e9);
                progress?.Report(new ScenarioProgress(Name, (m + 1.0) / Methods.Count, $"{Methods[method]}: {ScenarioResult.Format(rates[method])} ops/s"));
            }
        }

        async ValueTask LoopAsync(TaskContext ctx, string name, int method, int slot, long warmupStart, long phaseStart, long phaseEnd, long[] ops, long[] warm)
        {
            // Untimed warm-up: batches for the first 60 % of the window, then idle until phaseStart, so the
            // runtime's background JIT gets a core to compile the tiered-up code (both cores are busy while
            // the tasks run). Then the timed phase from phaseStart.
            // Each batch is counted before the preemption point, where a Ctrl+C (or the watchdog) ends the
            // task with its cancellation: the increments it made are then all counted and the sums stay exact.
            await ctx.SleepUntil(warmupStart);
            long warmEnd = warmupStart + ((phaseStart - warmupStart) * 3 / 5);
            while (RtClock.NowNs() < warmEnd)
            {
                await OneBatchAsync(ctx, name, method);
                warm[slot] += Batch;
                await ctx.PreemptionPoint();
            }

            await ctx.SleepUntil(phaseStart);
            while (RtClock.NowNs() < phaseEnd)
            {
                await OneBatchAsync(ctx, name, method);
                ops[slot] += Batch;
                await ctx.PreemptionPoint();
            }
        }

        // One batch of the method's operations (the caller counts it, then passes a preemption point).
        async ValueTask OneBatchAsync(TaskContext ctx, string name, int method)
        {
            switch (method)
            {
                case 0:
                    CounterBatch(counter, ctx);
                    break;
                case 1:
                    InterlockedBatch(ref shared);
                    break;
                case 2:
                    ThreadLocalBatch(threadLocal);
                    break;
                case 3:
                    for (int i = 0; i < Batch; i++)
                    {
                        PoolItem item = await perCpuPool.RentAsync(ctx);
                        Mark(item, name);
                        await perCpuPool.ReturnAsync(ctx, item);
                    }

                    break;
                case 4:
                    for (int i = 0; i < Batch; i++)
                    {
                        if (!bag.TryTake(out PoolItem? item))
                        {
                            Interlocked.Increment(ref bagCreated);
                            item = new PoolItem();
                        }

                        Mark(item, name);
                        bag.Add(item);
                    }

                    break;
                case 5:
                    for (int i = 0; i < Batch; i++)
                    {
                        byte[] array = ArrayPool<byte>.Shared.Rent(256);
                        array[0]++;
                        ArrayPool<byte>.Shared.Return(array);
                    }

                    break;
                default:
                    for (int i = 0; i < Batch; i++)
                    {
                        PoolItem item = objectPool.Get();
                        Mark(item, name);
                        objectPool.Return(item);
                    }

                    break;
            }
        }

        void Mark(PoolItem item, string name)
        {
            // One rent + one return, with the rented flag flipped both ways: an object rented by two tasks at once fails one of the flips.
            if (!item.TryRent() || !item.TryReturn())
            {
                checker.Fail(Invariants.PoolAccounting, $"task '{name}' got an object that another task holds");
            }
        }
    }

    // The counter loops run in their own small methods, called once per batch: inside the long-running
    // async loop (hoisted locals, OSR code) they would measure the state machine rather than the
    // counters. They are compiled fully optimized at once (AggressiveOptimization): left to tiering, their
    // tier-1 code arrived when the call-counting delay had passed and the background JIT got a core
    // (both cores run the tasks), often in the middle of a timed phase, so the first method was measured
    // partly at tier 0 (PerCpuCounter 40..582 M ops/s in ten runs of one command, 2026-11-27; with
    // tiering off 546..549 M; compiled this way 631..1413 M in four runs).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining | System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void CounterBatch(PerCpuCounter counter, TaskContext ctx)
    {
        for (int i = 0; i < Batch; i++)
        {
            counter.Increment(ctx);
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining | System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void InterlockedBatch(ref long shared)
    {
        for (int i = 0; i < Batch; i++)
        {
            Interlocked.Increment(ref shared);
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining | System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void ThreadLocalBatch(ThreadLocal<long> threadLocal)
    {
        for (int i = 0; i < Batch; i++)
        {
            threadLocal.Value++;
        }
    }
    private sealed class CountingPolicy : PooledObjectPolicy<PoolItem>
    {
        private long _created;

        public long Created => Interlocked.Read(ref _created);

        public override PoolItem Create()
        {
            Interlocked.Increment(ref _created);
            return new PoolItem();
        }

        public override bool Return(PoolItem obj) => true;
    }
}
