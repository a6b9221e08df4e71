using System.Globalization;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Compare.Sections;

/// <summary>
/// 1. Timer wakeup latency (the cyclictest measurement) and the wakeup of a waiting task against the
/// ThreadPool's enqueue-to-start latency under a busy producer.
/// </summary>
internal static class TimerSection
{
    public const string Title = "1. Timer wakeup latency";
    public static readonly TimeSpan Spin = TimeSpan.FromMicroseconds(50);

    // The timer rows' spin window: a timed futex wait on a halted vCPU returns 40–110 µs late here
    // (p50–p99), so a 50 µs window leaves the tail; 100 µs covers it, at a CPU cost the row reports.
    public static readonly TimeSpan TimerSpin = TimeSpan.FromMicroseconds(100);
    private const long ProducerGapNs = 20_000;

    /// <summary>RtRuntime's options for what <c>cyclictest -m -p 90</c> does to itself (and holds on /dev/cpu_dma_latency).</summary>
    private static RtSchedulerOptions LikeCyclictest => new()
    {
        CpuThreadPolicy = CpuThreadPolicy.Fifo,
        CpuThreadPriority = 90,
        LockMemory = true,
        CpuDmaLatency = TimeSpan.Zero,
    };

    public static async Task RunAsync(CompareSettings s, Report report, TextWriter log)
    {
        var sec = new Section(Title);
        report.Sections.Add(sec);
        int loops = s.TimerLoops;
        long interval = s.TimerIntervalNs;
        int cpus = Environment.ProcessorCount;
        string iv = Fmt.Num(interval / 1000.0);
        sec.Text.Add($"A periodic task per CPU (FIFO 90, pinned by affinity) sleeps to absolute deadlines every {iv} µs, {Fmt.Int(loops)} times per CPU on {cpus} CPUs "
            + $"(after {RtLoops.Warmup} discarded warm-up wakeups); its latency is `RtClock.NowNs()` right after the wake minus the deadline. "
            + "The baselines run the same loop back to back in this process (or as the kernel's own `cyclictest`).");

        log.WriteLine("[1] timer wakeup latency");

        // The first rows of a run would otherwise carry the tiered JIT's warm-up (its call-counting
        // stubs are removed with the runtime suspended: millisecond stalls in the first seconds). Run
        // the periodic loop once, discarded, so that every measured row sees the same steady code.
        _ = await RtLoops.PeriodicOnEveryCpuAsync("warm-up", new RtSchedulerOptions(), Math.Max(RtLoops.Warmup, loops / 5), interval, 0);
        // Every row of the timer table runs in interleaved segments (InterleavedRuns): this VM's timer
        // behaviour changes phase every few seconds, and a row run whole met a different phase than its
        // baseline run next (a plain clock_nanosleep thread's p99 varied 115–1,014 µs between runs).
        const string Idle = "RtRuntime idle", NoEarly = "RtRuntime idle, no early wake", Cyclic = "cyclictest FIFO 90", Nanosleep = "clock_nanosleep thread",
            SpinRow = "RtRuntime SpinBeforePark", SpinFloor = "spinning thread (floor)", FifoRow = "RtRuntime CPU threads FIFO 90", Locked = "RtRuntime LockMemory",
            LikeCyclic = "RtRuntime as cyclictest runs", Load = "RtRuntime + hog (point/10 µs)", CyclicLoad = "cyclictest FIFO 90 + stress-ng";
        var runs = new InterleavedRuns();
        runs.Add(Idle, n => RtLoops.PeriodicOnEveryCpuAsync(Idle, new RtSchedulerOptions(), n, interval, 0));
        runs.Add(NoEarly, n => RtLoops.PeriodicOnEveryCpuAsync(NoEarly, new RtSchedulerOptions { TimerEarlyWakeMax = TimeSpan.Zero }, n, interval, 0));
        runs.Add(Cyclic, n => KernelTools.CyclictestAsync(Cyclic, n, interval, stress: false, log));
        runs.Add(Nanosleep, n => Task.FromResult(PeriodicThreads(Nanosleep, cpus, n, interval, Native.SleepUntil)));
        runs.Add(SpinRow, n => RtLoops.PeriodicOnEveryCpuAsync(SpinRow, new RtSchedulerOptions { SpinBeforePark = TimerSpin }, n, interval, 0));
        runs.Add(SpinFloor, n => Task.FromResult(PeriodicThreads(SpinFloor, cpus, n, interval, deadline => Busy.Until(deadline))));
        runs.Add(FifoRow, n => RtLoops.PeriodicOnEveryCpuAsync(FifoRow, new RtSchedulerOptions { CpuThreadPolicy = CpuThreadPolicy.Fifo, CpuThreadPriority = 90 }, n, interval, 0));
        runs.Add(Locked, n => RtLoops.PeriodicOnEveryCpuAsync(Locked, new RtSchedulerOptions { LockMemory = true }, n, interval, 0));
        runs.Add(LikeCyclic, n => RtLoops.PeriodicOnEveryCpuAsync(LikeCyclic, LikeCyclictest, n, interval, 0));
        runs.Add(Load, n => RtLoops.PeriodicOnEveryCpuAsync(Load, new RtSchedulerOptions(), n, interval, 10_000));
        runs.Add(CyclicLoad, n => KernelTools.CyclictestAsync(CyclicLoad, n, interval, stress: true, log));
        int segments = s.TimerSegments;
        await runs.RunAsync(loops, segments, log);
        sec.Text.Add($"The rows run interleaved: {Fmt.Int(segments)} rounds, each running {Fmt.Int(loops / segments)} wakeups per CPU of every row in turn (the order rotating from round to round), so that every row samples the same phases of this shared machine.");

        Latency rtIdle = runs.Result(Idle)!;
        Latency rtNoEarly = runs.Result(NoEarly)!;
        Latency? cyclic = runs.Result(Cyclic);
        Latency nanosleep = runs.Result(Nanosleep)!;
        Latency rtSpin = runs.Result(SpinRow)!;
        Latency spinFloor = runs.Result(SpinFloor)!;
        Latency? rtFifo = runs.Result(FifoRow);
        Latency? rtLocked = runs.Result(Locked);
        Latency? rtLikeCyclictest = runs.Result(LikeCyclic);
        Latency rtLoad = runs.Result(Load)!;
        Latency? cyclicLoad = runs.Result(CyclicLoad);
        string idleCpu = runs.CpuShare(Idle, cpus), noEarlyCpu = runs.CpuShare(NoEarly, cpus), spinCpu = runs.CpuShare(SpinRow, cpus);
        string cyclicNote = runs.Note(Cyclic) + (cyclic is null ? string.Empty : $", {Fmt.Int(segments)} times");
        string cyclicLoadNote = runs.Note(CyclicLoad) + (cyclicLoad is null ? string.Empty : $", {Fmt.Int(segments)} times");
        foreach ((Latency? skipped, string label, string what) in new[] { (rtFifo, FifoRow, "with SCHED_FIFO CPU threads"), (rtLocked, Locked, "with LockMemory"), (rtLikeCyclictest, LikeCyclic, "set up as cyclictest runs") })
        {
            if (skipped is null)
            {
                sec.Notes.Add($"RtRuntime {what} skipped: " + runs.Note(label));
            }
        }

        Latency periodic = await PeriodicTimerAsync("PeriodicTimer (1 ms)", cpus, Math.Max(20, (int)(loops * interval / 1_000_000)));
        log.WriteLine($"  PeriodicTimer: p99 {Fmt.Us(periodic.P99Us)} us");

        var rows = new List<(Latency, string)>
        {
            (rtIdle, $"RtRuntime defaults: CPU threads SCHED_OTHER, park on a futex (after an adaptive poll that stays off at this interval), timer slack 1 ns, woken early by what the CPU learnt of the OS's lateness (`TimerEarlyWakeMax` 50 µs) and spinning the rest; process CPU time {idleCpu} of the {cpus} cores"),
            (rtNoEarly, $"RtRuntime defaults but `TimerEarlyWakeMax = 0`: the futex timeout is the deadline itself; process CPU time {noEarlyCpu} of the {cpus} cores"),
        };
        if (cyclic is not null)
        {
            rows.Add((cyclic, cyclicNote));
        }

        rows.Add((nanosleep, "a pinned .NET thread per CPU, SCHED_OTHER, `prctl(PR_SET_TIMERSLACK, 1)`, `clock_nanosleep(TIMER_ABSTIME)` via P/Invoke"));
        rows.Add((periodic, "`PeriodicTimer` on the ThreadPool, one loop per CPU; its minimum period is 1 ms, so latency = interval between ticks − 1 ms (early ticks count as 0)"));
        rows.Add((rtSpin, $"RtRuntime with `SpinBeforePark = {TimerSpin.TotalMicroseconds} µs`: sleeps until {TimerSpin.TotalMicroseconds} µs before the deadline, then spins; process CPU time {spinCpu} of the {cpus} cores (defaults: {idleCpu})"));
        rows.Add((spinFloor, "the floor of `SpinBeforePark` on this machine: a pinned .NET thread per CPU spins on the clock to each deadline (no sleep, no runtime); what is left is the machine's own interruptions"));
        if (rtFifo is not null)
        {
            rows.Add((rtFifo, "RtRuntime with `CpuThreadPolicy = Fifo, CpuThreadPriority = 90` (opt-in), otherwise defaults"));
        }

        if (rtLocked is not null)
        {
            rows.Add((rtLocked, "RtRuntime with `LockMemory = true` (opt-in: `mlockall(MCL_CURRENT \\| MCL_FUTURE)`, as `cyclictest -m` locks its memory), otherwise defaults"));
        }

        if (rtLikeCyclictest is not null)
        {
            rows.Add((rtLikeCyclictest, "RtRuntime set up as `cyclictest -m -p 90` runs: `CpuThreadPolicy = Fifo, CpuThreadPriority = 90, LockMemory = true, CpuDmaLatency = 0` (the 0 µs request cyclictest holds on `/dev/cpu_dma_latency` unless told `--laptop`)"));
        }

        rows.Add((rtLoad, "RtRuntime defaults; a FIFO 1 hog per CPU computes and passes a preemption point every 10 µs"));
        if (cyclicLoad is not null)
        {
            rows.Add((cyclicLoad, cyclicLoadNote));
        }

        sec.Tables.Add(Tables.Latencies($"Timer wakeup latency, {iv} µs period", rows));
        Latency? kernel = cyclic ?? nanosleep;
        sec.Tables.Add(Tables.Ratios("Ratios (RtRuntime / baseline, same run)",
        [
            (rtIdle, cyclic), (rtIdle, rtNoEarly), (rtNoEarly, cyclic), (rtIdle, nanosleep), (rtIdle, periodic), (rtSpin, cyclic), (rtSpin, nanosleep), (rtSpin, spinFloor), (rtLocked ?? rtIdle, rtLocked is null ? null : cyclic), (rtFifo ?? rtIdle, rtFifo is null ? null : cyclic),
            (rtLikeCyclictest ?? rtIdle, rtLikeCyclictest is null ? null : cyclic), (rtLoad, cyclicLoad), (rtLoad, cyclic),
        ]));
        if (cyclic is null)
        {
            sec.Notes.Add(cyclicNote + " The targets then compare with the clock_nanosleep thread instead.");
        }

        if (cyclicLoad is null)
        {
            sec.Notes.Add(cyclicLoadNote);
        }

        string kname = cyclic is null ? "clock_nanosleep thread p99 (cyclictest not installed)" : "cyclictest p99";
        double r1 = rtIdle.P99Us / kernel.P99Us;
        report.Targets.Add(new TargetRow("Timer wakeup p99, idle CPU ≤ 1.5× " + kname, $"{Fmt.Us(rtIdle.P99Us)} µs vs {Fmt.Us(kernel.P99Us)} µs", Fmt.Ratio(r1), r1 <= 1.5));
        if (rtLikeCyclictest is not null)
        {
            double rl = rtLikeCyclictest.P99Us / kernel.P99Us;
            report.Targets.Add(new TargetRow("Timer wakeup p99, idle CPU ≤ 1.5× " + kname + ", RtRuntime set up as cyclictest runs (FIFO 90 CPU threads, `LockMemory`, `CpuDmaLatency = 0`)",
                $"{Fmt.Us(rtLikeCyclictest.P99Us)} µs vs {Fmt.Us(kernel.P99Us)} µs", Fmt.Ratio(rl), rl <= 1.5));
        }

        double r2 = rtSpin.P99Us / kernel.P99Us;
        report.Targets.Add(new TargetRow("Timer wakeup p99 with SpinBeforePark ≤ 0.5× " + kname, $"{Fmt.Us(rtSpin.P99Us)} µs vs {Fmt.Us(kernel.P99Us)} µs (spinning-thread floor {Fmt.Us(spinFloor.P99Us)} µs, {Fmt.Ratio(spinFloor.P99Us / kernel.P99Us)})", Fmt.Ratio(r2), r2 <= 0.5));

        var all = new List<Latency> { rtIdle, rtNoEarly, rtSpin, rtLoad, nanosleep, periodic, spinFloor };
        if (rtFifo is not null)
        {
            all.Add(rtFifo);
        }

        if (rtLocked is not null)
        {
            all.Add(rtLocked);
        }

        if (rtLikeCyclictest is not null)
        {
            all.Add(rtLikeCyclictest);
        }

        if (cyclic is not null)
        {
            all.Add(cyclic);
        }

        if (cyclicLoad is not null)
        {
            all.Add(cyclicLoad);
        }

        sec.Images.Add(("timer wakeup latency percentiles", Plots.Percentiles($"Timer wakeup latency, {iv} µs period", all, s.ImageDir, "compare-timer")));

        // Enqueue-to-start under a busy producer, against the wakeup of a waiting task.
        log.WriteLine("[1] enqueue-to-start vs wait->run");
        int n = s.WakeSamples;
        Latency tp = ThreadPoolEnqueue("ThreadPool enqueue→start", n);
        log.WriteLine($"  ThreadPool: p99 {Fmt.Us(tp.P99Us)} us");
        Latency rtWake = await RtEventWakeAsync("RtRuntime event wait→run", new RtSchedulerOptions(), n);
        log.WriteLine($"  RtRuntime event: p99 {Fmt.Us(rtWake.P99Us)} us");
        Latency rtWakeSpin = await RtEventWakeAsync("RtRuntime event wait→run, SpinBeforePark", new RtSchedulerOptions { SpinBeforePark = Spin }, n);
        log.WriteLine($"  RtRuntime event spin: p99 {Fmt.Us(rtWakeSpin.P99Us)} us");
        string gap = Fmt.Num(ProducerGapNs / 1000.0);
        sec.Tables.Add(Tables.Latencies($"Enqueue-to-start under a busy producer ({gap} µs of computation between items), {Fmt.Int(n)} items",
        [
            (tp, $"a dedicated producer thread computes {gap} µs, stamps the time and calls `ThreadPool.UnsafeQueueUserWorkItem`; the item records now − stamp"),
            (rtWake, $"a FIFO 50 task on CPU 0 computes {gap} µs, stamps the time and sets an auto-reset `RtEvent`; a FIFO 50 task on CPU 1 waiting on it records now − stamp"),
            (rtWakeSpin, $"the same with `SpinBeforePark = {Spin.TotalMicroseconds} µs`"),
        ]));
        sec.Tables.Add(Tables.Ratios("Ratios (RtRuntime / ThreadPool)", [(rtWake, tp), (rtWakeSpin, tp)]));
        sec.Images.Add(("enqueue-to-start vs wait-to-run percentiles", Plots.Percentiles("Enqueue→start (ThreadPool) vs wait→run (RtRuntime)", [tp, rtWake, rtWakeSpin], s.ImageDir, "compare-wake")));
        sec.Notes.Add("An idle RtRuntime CPU parks on a futex, and waking a parked CPU from the other one is a cross-CPU futex wake (its cost is not measured by this run). "
            + "By default it first polls for an adaptive window (`IdlePollMax`, the guest kernel's haltpoll: it grows while wakeups come soon after parking, as here); "
            + "`SpinBeforePark` replaces that with a fixed spin. The ThreadPool's idle workers spin too, which is why its p50 is low and its tail is not.");
    }

    /// <summary>
    /// Baseline (b), and the spinning floor: the cyclictest loop on a pinned .NET thread per CPU; <paramref name="waitUntil"/> waits for each
    /// absolute CLOCK_MONOTONIC deadline (<c>clock_nanosleep</c>, or a spin on the clock for the floor).
    /// </summary>
    private static Latency PeriodicThreads(string label, int cpus, int loops, long intervalNs, Action<long> waitUntil)
    {
        if (!OperatingSystem.IsLinux())
        {
            return new Latency(label);
        }

        var parts = new Latency[cpus];
        var threads = new Thread[cpus];
        for (int cpu = 0; cpu < cpus; cpu++)
        {
            int core = cpu;
            Latency h = parts[cpu] = new Latency(label);
            threads[cpu] = new Thread(() =>
            {
                Native.PinTo(core);
                Native.SetTimerSlackOneNs();
                long next = Native.MonotonicNs() + intervalNs;
                for (int i = -RtLoops.Warmup; i < loops; i++)
                {
                    waitUntil(next);
                    long now = Native.MonotonicNs();
                    if (i >= 0)
                    {
                        h.Record(now - next);
                    }

                    next += intervalNs;
                    while (next <= now)
                    {
                        next += intervalNs;
                    }
                }
            })
            { IsBackground = true, Name = "cmp/periodic" + core.ToString(CultureInfo.InvariantCulture) };
            threads[cpu].Start();
        }

        foreach (Thread t in threads)
        {
            t.Join();
        }

        return Latency.Merge(label, parts);
    }

    /// <summary>Baseline (c): PeriodicTimer loops on the ThreadPool (1 ms, its minimum); latency = tick interval − period.</summary>
    private static async Task<Latency> PeriodicTimerAsync(string label, int loopsInParallel, int ticks)
    {
        var period = TimeSpan.FromMilliseconds(1);
        long periodNs = RtClock.ToNs(period);

        async Task<Latency> One()
        {
            var h = new Latency(label);
            using var timer = new PeriodicTimer(period);
            long prev = RtClock.NowNs();
            for (int i = -10; i < ticks && await timer.WaitForNextTickAsync(); i++)
            {
                long now = RtClock.NowNs();
                if (i >= 0)
                {
                    h.Record(now - prev - periodNs);
                }

                prev = now;
            }

            return h;
        }

        Latency[] parts = await Task.WhenAll(Enumerable.Range(0, loopsInParallel).Select(_ => Task.Run(One)));
        return Latency.Merge(label, parts);
    }

    /// <summary>ThreadPool work items queued by a busy producer thread; latency = start − enqueue.</summary>
    private static Latency ThreadPoolEnqueue(string label, int n)
    {
        int warm = Math.Min(1000, n);
        var stamps = new long[n + warm];
        var lat = new long[n + warm];
        var done = new Flag();
        var producer = new Thread(() =>
        {
            for (int i = 0; i < stamps.Length; i++)
            {
                Busy.For(ProducerGapNs);
                stamps[i] = RtClock.NowNs();
                ThreadPool.UnsafeQueueUserWorkItem(
                    static st =>
                    {
                        long now = RtClock.NowNs();
                        st.Lat[st.I] = now - Volatile.Read(ref st.Stamps[st.I]);
                        Interlocked.Increment(ref st.Done.Value);
                    },
                    new TpItem(stamps, lat, i, done),
                    preferLocal: false);
            }
        })
        { IsBackground = true, Name = "cmp/producer" };
        producer.Start();
        producer.Join();
        var spin = new SpinWait();
        while (Volatile.Read(ref done.Value) < stamps.Length)
        {
            spin.SpinOnce();
        }

        var h = new Latency(label);
        for (int i = warm; i < lat.Length; i++)
        {
            h.Record(lat[i]);
        }

        return h;
    }

    /// <summary>RtRuntime: a busy FIFO 50 task on CPU 0 sets an RtEvent a FIFO 50 task on CPU 1 waits on; latency = run − set.</summary>
    private static async Task<Latency> RtEventWakeAsync(string label, RtSchedulerOptions options, int n)
    {
        int warm = Math.Min(1000, n);
        await using RtScheduler rt = RtScheduler.Start(options);
        var ev = new RtEvent(autoReset: true);
        var ready = new Flag();
        var stop = new Flag();
        var h = new Latency(label);
        long stamp = 0;
        int cpuWaiter = rt.CpuCount > 1 ? 1 : 0;
        Task waiter = rt.Spawn("waiter", 50, async ctx =>
        {
            for (int i = -warm; i < n; i++)
            {
                ready.Set();
                await ev.WaitAsync(ctx);
                long now = RtClock.NowNs();
                if (i >= 0)
                {
                    h.Record(now - Volatile.Read(ref stamp));
                }
            }

            stop.Set();
        }, SchedPolicy.Fifo, CpuSet.Of(cpuWaiter)).AsTask();
        Task setter = rt.Spawn("setter", 50, async ctx =>
        {
            while (!stop.IsSet)
            {
                Busy.For(ProducerGapNs);
                if (!ready.IsSet)
                {
                    await ctx.PreemptionPoint();
                    continue;
                }

                ready.Clear();
                Volatile.Write(ref stamp, RtClock.NowNs());
                ev.Set();
                await ctx.PreemptionPoint();
            }
        }, SchedPolicy.Fifo, CpuSet.Of(0)).AsTask();
        await waiter;
        await setter;
        return h;
    }

    private sealed record TpItem(long[] Stamps, long[] Lat, int I, Flag Done);
}
