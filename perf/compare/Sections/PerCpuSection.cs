using System.Runtime.CompilerServices;
using RtRuntime.Cpus;
using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Compare.Sections;

/// <summary>5. Per-CPU data: the runtime's `PerCpuCounter` and `PerCpu<long>` against Interlocked on a shared counter and ThreadLocal, two CPUs busy.</summary>
internal static class PerCpuSection
{
    public const string Title = "5. Per-CPU data";

    // 16 longs = 128 bytes: the shared counter sits alone on a cache line and its prefetch pair.
    private const int Stride = 16;
    private const int Batch = 1000;

    // The loops run in calls of this many increments so they tier up by call counting (Tier 1 with
    // PGO, thread-static fast paths) instead of running as OSR code in one long call.
    private const long Call = 20_000;

    private enum Variant
    {
        PerCpuCounter,
        PerCpuGuarded,
        PerCpuBatch,
        Interlocked,
        ThreadLocal,
    }

    public static async Task RunAsync(CompareSettings s, Report report, TextWriter log)
    {
        var sec = new Section(Title);
        report.Sections.Add(sec);
        log.WriteLine("[5] per-CPU data");
        long ops = s.CounterOps;
        int reps = s.Quick ? 2 : 5;
        (Variant V, string Name)[] variants =
        [
            (Variant.PerCpuCounter, "the runtime's `PerCpuCounter.Increment(ctx)` (`this_cpu_inc`: one operation, no guard)"),
            (Variant.PerCpuGuarded, "`PerCpu<long>`: `using (ctx.MigrateDisable()) slots.ThisCpu(ctx)++;` per increment"),
            (Variant.PerCpuBatch, $"`PerCpu<long>`: one `MigrateDisable()` and one `ref slots.ThisCpu(ctx)` per {Batch} increments (`this_cpu_ptr` once, then `(*p)++`)"),
            (Variant.Interlocked, "`Interlocked.Increment` on one shared counter"),
            (Variant.ThreadLocal, "`ThreadLocal<long>` (`tl.Value++`)"),
        ];
        var xs = variants.Select(_ => new List<double>()).ToArray();
        var sumOk = variants.Select(_ => true).ToArray();
        await using (RtScheduler rt = RtScheduler.Start(new RtSchedulerOptions()))
        {
            int cpus = rt.CpuCount;

            // Every repetition runs each variant once, in turn (as section 3), so that the per-CPU rows and
            // their Interlocked baseline see the same phases of this shared machine.
            for (int r = -2; r < reps; r++)
            {
                for (int i = 0; i < variants.Length; i++)
                {
                    (double ns, bool ok) = await MeasureAsync(rt, cpus, variants[i].V, r < 0 ? Math.Max(Call * 100, ops / 5) : ops);
                    sumOk[i] &= ok;
                    if (r >= 0)
                    {
                        xs[i].Add(ns);
                    }
                }

                if (r < 0)
                {
                    await Task.Delay(s.Quick ? 1 : 250); // let the tiering backlog compile the loops at Tier 1
                }
            }
        }

        var rows = variants.Select((v, i) => (v.V, v.Name, NsPerOp: xs[i], SumOk: sumOk[i])).ToList();
        foreach (var r in rows)
        {
            log.WriteLine($"  {r.V}: {Fmt.Num(Fmt.Median(r.NsPerOp))} ns/op per task");
        }

        sec.Text.Add($"Two FIFO 50 tasks, one pinned to each CPU, each add {Fmt.Int(ops)} to a counter; ns of the CPU thread's own CPU time (`CLOCK_THREAD_CPUTIME_ID`) per increment per task (median of {reps}). "
            + "Throughput scaling is relative to the Interlocked counter. `PerCpuCounter.Increment` is the kernel's `this_cpu_inc`: safe without a guard, because a task leaves its CPU only at an await. "
            + "The `PerCpu<long>` rows take this CPU's slot (its own 128 bytes) inside a migrate-disabled section, the pattern for a multi-step update of this CPU's data: "
            + "a guard per increment is what an explicit `migrate_disable()`/`migrate_enable()` pair costs; the batch row takes the slot's reference once per guard, as kernel code takes `this_cpu_ptr()` once inside `preempt_disable()`. Sums are checked after each run.");
        double interlocked = Fmt.Median(rows.First(r => r.V == Variant.Interlocked).NsPerOp);
        var t = new Table("Counter increments, 2 CPUs busy", "variant", "ns/op per task", "throughput vs Interlocked", "sum correct");
        foreach (var r in rows)
        {
            t.Add(r.Name, Fmt.MedianSpread(r.NsPerOp), Fmt.Ratio(interlocked / Fmt.Median(r.NsPerOp)), r.SumOk ? "yes" : "**no**");
        }

        sec.Tables.Add(t);
        foreach ((Variant v, string what) in new[] { (Variant.PerCpuCounter, "`PerCpuCounter.Increment`, no guard"), (Variant.PerCpuGuarded, "`PerCpu<long>`, guard per increment"), (Variant.PerCpuBatch, $"`PerCpu<long>`, one guard per {Batch} increments") })
        {
            var row = rows.First(r => r.V == v);
            double ns = Fmt.Median(row.NsPerOp);
            double x = interlocked / ns;
            bool sumsOk = row.SumOk && rows.First(r => r.V == Variant.Interlocked).SumOk; // a fast counter that lost increments meets nothing
            report.Targets.Add(new TargetRow($"Per-CPU counter ≥ 10× `Interlocked` on a shared counter ({what})", $"{Fmt.Num(ns)} vs {Fmt.Num(interlocked)} ns/op{(sumsOk ? string.Empty : " (**sum wrong**)")}", Fmt.Ratio(x), x >= 10 && sumsOk));
        }

        sec.Images.Add(("per-CPU counters", Plots.Bars("Counter increment, 2 CPUs busy", "ns per op per task", ["PerCpuCounter", "PerCpu<long>, guard/op", $"PerCpu<long>, guard/{Batch}", "Interlocked", "ThreadLocal"],
            rows.Select(r => Fmt.Median(r.NsPerOp)).ToArray(), s.ImageDir, "compare-percpu")));
    }

    private static async Task<(double NsPerOp, bool SumOk)> MeasureAsync(RtScheduler rt, int cpus, Variant v, long ops)
    {
        var slots = new PerCpu<long>(rt);
        var counter = new PerCpuCounter(rt);
        var shared = new long[3 * Stride];
        using var tl = new ThreadLocal<long>(trackAllValues: true);
        var elapsed = new long[cpus];
        var start = new RtEvent(autoReset: false);
        var tasks = new List<RtTask>();
        for (int cpu = 0; cpu < cpus; cpu++)
        {
            int me = cpu;
            tasks.Add(rt.Spawn("counter/" + me, 50, async ctx =>
            {
                await start.WaitAsync(ctx);
                long t0 = Native.ThreadCpuNs();
                for (long done = 0; done < ops; done += Call)
                {
                    long n = Math.Min(Call, ops - done);
                    switch (v)
                    {
                        case Variant.PerCpuCounter:
                            CounterLoop(ctx, counter, n);
                            break;
                        case Variant.PerCpuGuarded:
                            PerCpuGuarded(ctx, slots, n);
                            break;
                        case Variant.PerCpuBatch:
                            PerCpuBatch(ctx, slots, n);
                            break;
                        case Variant.Interlocked:
                            InterlockedLoop(shared, n);
                            break;
                        default:
                            ThreadLocalLoop(tl, n);
                            break;
                    }
                }

                elapsed[me] = Native.ThreadCpuNs() - t0; // the loop never awaits: one CPU thread throughout
            }, SchedPolicy.Fifo, CpuSet.Of(cpu)));
        }

        await Task.Delay(10);
        start.Set();
        foreach (RtTask task in tasks)
        {
            await task;
        }

        long expected = ops * cpus;
        long sum = v switch
        {
            Variant.Interlocked => shared[Stride],
            Variant.ThreadLocal => tl.Values.Sum(),
            Variant.PerCpuCounter => counter.Sum(),
            _ => Enumerable.Range(0, cpus).Sum(c => slots.Remote(c)),
        };
        return (elapsed.Average() / ops, sum == expected);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void CounterLoop(TaskContext ctx, PerCpuCounter counter, long ops)
    {
        for (long i = 0; i < ops; i++)
        {
            counter.Increment(ctx);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void PerCpuGuarded(TaskContext ctx, PerCpu<long> slots, long ops)
    {
        for (long i = 0; i < ops; i++)
        {
            using (ctx.MigrateDisable())
            {
                slots.ThisCpu(ctx)++;
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void PerCpuBatch(TaskContext ctx, PerCpu<long> slots, long ops)
    {
        for (long i = 0; i < ops; i += Batch)
        {
            using (ctx.MigrateDisable())
            {
                ref long slot = ref slots.ThisCpu(ctx);
                long n = Math.Min(Batch, ops - i);
                for (long j = 0; j < n; j++)
                {
                    slot++;
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void InterlockedLoop(long[] shared, long ops)
    {
        for (long i = 0; i < ops; i++)
        {
            Interlocked.Increment(ref shared[Stride]);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThreadLocalLoop(ThreadLocal<long> tl, long ops)
    {
        for (long i = 0; i < ops; i++)
        {
            tl.Value++;
        }
    }
}
