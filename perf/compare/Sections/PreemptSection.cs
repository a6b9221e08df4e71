using System.Runtime.CompilerServices;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Compare.Sections;

/// <summary>
/// 2. Preemption latency on a busy CPU: a FIFO 1 task computes on CPU 0 with a preemption point every
/// K µs while a FIFO 90 task is made runnable there by its timer or by an event set from core 1.
/// </summary>
internal static class PreemptSection
{
    public const string Title = "2. Preemption latency on a busy CPU";
    private const string FifoTag = " [FIFO CPU thread]";
    private const string SpinTag = " [SpinBeforePark]";
    private const string NoAnticipationTag = " [AnticipateTimers off]";
    private static readonly long[] s_pointsUs = [10, 100];

    public static async Task RunAsync(CompareSettings s, Report report, TextWriter log)
    {
        var sec = new Section(Title);
        report.Sections.Add(sec);
        int n = s.PreemptSamples;
        long interval = s.TimerIntervalNs;
        sec.Text.Add($"RtRuntime runs one CPU pinned to core 0. A FIFO 1 task computes there and passes `await ctx.PreemptionPoint()` every K µs. "
            + $"A FIFO 90 task on the same CPU is made runnable {Fmt.Int(n)} times, either by its timer (`SleepUntil`, deadlines a pseudo-random 0.75–1.25 × {Fmt.Num(interval / 1000.0)} µs apart, the same sequence in every timer row; latency = running − deadline) "
            + "or by an auto-reset `RtEvent` set from a .NET thread pinned to core 1 after a random 0.25–0.75 × period gap (latency = running − the stamp taken just before `Set()`). "
            + "The kernel baseline is the same with OS threads (native/preempt.c, built with gcc at run time): a SCHED_FIFO 90 thread on core 0 preempting a computing thread there, "
            + "woken by its `clock_nanosleep` timer or by a futex wake from core 1. The kernel needs no preemption points: it preempts at once. "
            + "The bare-thread rows are the floors on this machine: for the event rows, the same hog loop and setter with no runtime and no switch, only a flag read where the hog passes its point; "
            + "for the timer rows, a thread on core 0 spinning on the clock to the same deadlines, the best any timer on that core can do. "
            + "The deadlines are jittered because this VM stops a busy core for 20–50 µs at fixed phases of its 4 ms tick: with a fixed 200 µs period, which divides 4 ms, every deadline of a row would fall at the phase its start happened to pick, and that phase, not the runtime, would decide the row's p99.");
        log.WriteLine("[2] preemption latency");
        await WarmUpAsync(s, log, interval);

        // Every row runs in interleaved segments (InterleavedRuns), so that each row and the floors
        // and kernel rows it is compared with sample the same phases of this shared VM.
        (string? helper, string helperNote) = await KernelTools.BuildHelperAsync(log);
        var runs = new InterleavedRuns();
        var labels = new Dictionary<(long K, string Mode), string>();
        foreach (bool fifo in new[] { false, true })
        {
            string tag = fifo ? FifoTag : string.Empty;
            foreach (long k in s_pointsUs)
            {
                long kNs = k * 1000;
                string timerLabel = labels[(k, "timer" + tag)] = $"RtRuntime timer, point/{k} µs{tag}";
                string eventLabel = labels[(k, "event" + tag)] = $"RtRuntime event, point/{k} µs{tag}";
                runs.Add(timerLabel, m => RtTimerAsync(timerLabel, OneCpu(fifo), m, interval, kNs));
                runs.Add(eventLabel, m => RtEventAsync(eventLabel, OneCpu(fifo), m, interval, kNs));
            }
        }

        // The machine's floors for the same measurements: no runtime, no switch. A plain thread on core 0
        // computes K µs between two reads of a flag that the same setter on core 1 raises; and one spins
        // on the clock to the timer rows' deadlines.
        const string TimerFloorLabel = "bare thread, spin to each deadline (the timer floor)";
        runs.Add(TimerFloorLabel, m => Task.FromResult(BareTimerFloor(TimerFloorLabel, m, interval)));
        foreach (long k in s_pointsUs)
        {
            string floorLabel = labels[(k, "floor")] = $"bare threads, flag read every {k} µs (the floor)";
            runs.Add(floorLabel, m => Task.FromResult(BareFlagFloor(floorLabel, m, interval, k * 1000)));
        }

        // The same-run baseline of timer anticipation (on by default): the defaults without it, where
        // the timer fires at the first point after its deadline. And SpinBeforePark on a busy CPU: the
        // hog's points poll within the timer lead as by default, and rt/timer backs them up without
        // spinning (it spins only for a CPU without a lead); the rows show the option does not disturb
        // the busy CPU (the event rows do not change: it never parks).
        foreach (long k in s_pointsUs)
        {
            string offLabel = labels[(k, "timer" + NoAnticipationTag)] = $"RtRuntime timer, point/{k} µs{NoAnticipationTag}";
            runs.Add(offLabel, m => RtTimerAsync(offLabel, new() { CpuCount = 1, Cores = [0], AnticipateTimers = false }, m, interval, k * 1000));
            string spinLabel = labels[(k, "timer" + SpinTag)] = $"RtRuntime timer, point/{k} µs{SpinTag}";
            runs.Add(spinLabel, m => RtTimerAsync(spinLabel, new() { CpuCount = 1, Cores = [0], SpinBeforePark = TimerSection.TimerSpin }, m, interval, k * 1000));
        }

        const string KernelTimer = "kernel SCHED_FIFO timer", KernelEvent = "kernel SCHED_FIFO futex wake";
        if (helper is not null)
        {
            runs.Add(KernelTimer, m => KernelTools.RunHelperAsync(helper, KernelTimer, "timer", m, interval));
            runs.Add(KernelEvent, m => KernelTools.RunHelperAsync(helper, KernelEvent, "event", m, interval));
        }
        else
        {
            sec.Notes.Add(helperNote);
        }

        int segments = s.PreemptSegments;
        try
        {
            await runs.RunAsync(n, segments, log);
        }
        finally
        {
            KernelTools.DeleteHelper(helper); // built for this run only
        }

        sec.Text.Add($"The rows run interleaved: {Fmt.Int(segments)} rounds, each taking {Fmt.Int(n / segments)} samples of every row in turn (the order rotating from round to round), so that every row samples the same phases of this shared machine.");

        var rows = new List<(Latency, string)>();
        var ratioPairs = new List<(Latency, Latency?)>();
        var plotted = new List<Latency>();
        var results = new Dictionary<(long K, string Mode), Latency>();
        foreach (bool fifo in new[] { false, true })
        {
            string tag = fifo ? FifoTag : string.Empty;
            string how = fifo ? " (CPU thread SCHED_FIFO 90, opt-in)" : " (defaults: CPU thread SCHED_OTHER)";
            foreach (long k in s_pointsUs)
            {
                Latency timer = results[(k, "timer" + tag)] = runs.Result(labels[(k, "timer" + tag)])!;
                Latency ev = results[(k, "event" + tag)] = runs.Result(labels[(k, "event" + tag)])!;
                rows.Add((timer, $"hog passes a point every {k} µs; woken by its own timer" + how));
                rows.Add((ev, $"hog passes a point every {k} µs; woken by `RtEvent.Set()` from core 1" + how));
                plotted.Add(timer);
                plotted.Add(ev);
            }
        }

        Latency timerFloor = runs.Result(TimerFloorLabel)!;
        rows.Add((timerFloor, "no runtime: a SCHED_OTHER thread pinned to core 0 spins on the clock to each of the timer rows' deadlines; latency = first clock read at or past the deadline − the deadline. What is left is this VM's own interruptions"));
        plotted.Add(timerFloor);
        var floors = new Dictionary<long, Latency>();
        foreach (long k in s_pointsUs)
        {
            Latency floor = floors[k] = runs.Result(labels[(k, "floor")])!;
            rows.Add((floor, $"no runtime: a SCHED_OTHER thread pinned to core 0 computes {k} µs between reads of a flag that a thread on core 1 raises (the same setter as the event rows); latency = flag seen − stamp. No task switch happens: what is left is the point interval and this VM's own interruptions"));
            plotted.Add(floor);
        }

        foreach (long k in s_pointsUs)
        {
            Latency off = results[(k, "timer" + NoAnticipationTag)] = runs.Result(labels[(k, "timer" + NoAnticipationTag)])!;
            rows.Add((off, $"hog passes a point every {k} µs; woken by its own timer; defaults but `AnticipateTimers = false`: no stop at the point before the deadline, the timer fires at the first point after it"));
            plotted.Add(off);
        }

        foreach (long k in s_pointsUs)
        {
            Latency spin = results[(k, "timer" + SpinTag)] = runs.Result(labels[(k, "timer" + SpinTag)])!;
            rows.Add((spin, $"hog passes a point every {k} µs; woken by its own timer; `SpinBeforePark = {TimerSection.TimerSpin.TotalMicroseconds} µs` (opt-in): the CPU still polls and anticipates; `rt/timer` spins only for CPUs without a timer lead"));
            plotted.Add(spin);
        }

        Latency? kTimer = helper is null ? null : runs.Result(KernelTimer);
        Latency? kEvent = helper is null ? null : runs.Result(KernelEvent);
        if (helper is not null)
        {
            foreach (string note in new[] { runs.Note(KernelTimer), runs.Note(KernelEvent) }.Where(x => x.Length > 0).Distinct())
            {
                sec.Notes.Add("C helper: " + note);
            }

            if (kTimer is not null)
            {
                rows.Add((kTimer, helperNote + " `timer`: FIFO 90 thread, clock_nanosleep, timer slack 1 ns; a SCHED_OTHER thread computes on core 0"));
                plotted.Add(kTimer);
            }

            if (kEvent is not null)
            {
                rows.Add((kEvent, helperNote + " `event`: FIFO 90 thread in FUTEX_WAIT, woken from core 1; a SCHED_OTHER thread computes on core 0"));
                plotted.Add(kEvent);
            }
        }

        foreach (string tag in new[] { string.Empty, FifoTag })
        {
            foreach (long k in s_pointsUs)
            {
                ratioPairs.Add((results[(k, "timer" + tag)], kTimer));
                ratioPairs.Add((results[(k, "event" + tag)], kEvent));
            }
        }

        foreach (long k in s_pointsUs)
        {
            ratioPairs.Add((results[(k, "timer" + SpinTag)], kTimer));
            ratioPairs.Add((results[(k, "timer")], results[(k, "timer" + NoAnticipationTag)]));
        }

        foreach (long k in s_pointsUs)
        {
            ratioPairs.Add((results[(k, "event")], floors[k]));
            ratioPairs.Add((results[(k, "timer")], timerFloor));
        }

        sec.Tables.Add(Tables.Latencies("Made runnable → running on a busy CPU", rows));
        sec.Tables.Add(Tables.Ratios("Ratios (RtRuntime / kernel, and / the bare-thread floor)", ratioPairs));
        sec.Images.Add(("preemption latency percentiles", Plots.Percentiles("Preemption latency on a busy CPU", plotted, s.ImageDir, "compare-preempt")));
        foreach ((long k, string mode) in s_pointsUs.SelectMany(k => new[] { (k, "event"), (k, "timer"), (k, "event" + FifoTag), (k, "timer" + FifoTag), (k, "timer" + SpinTag) }))
        {
            {
                Latency l = results[(k, mode)];
                double bound = k + 5;
                bool byEvent = mode.StartsWith("event", StringComparison.Ordinal);
                string by = byEvent ? "an event from core 1" : "its timer";
                string policy = mode.EndsWith(FifoTag, StringComparison.Ordinal) ? "CPU thread SCHED_FIFO 90"
                    : mode.EndsWith(SpinTag, StringComparison.Ordinal) ? $"SpinBeforePark = {TimerSection.TimerSpin.TotalMicroseconds} µs"
                    : "defaults";
                report.Targets.Add(new TargetRow(
                    $"Preemption p99 on a busy CPU ≤ K + 5 µs (K = {k} µs, woken by {by}; {policy})",
                    $"{Fmt.Us(l.P99Us)} µs vs {Fmt.Num(bound)} µs (bare-thread floor {Fmt.Us((byEvent ? floors[k] : timerFloor).P99Us)} µs)",
                    Fmt.Ratio(l.P99Us / bound),
                    l.P99Us <= bound));
            }
        }

        sec.Notes.Add("A timer on a busy RtRuntime CPU needs no interrupt thread to be on time: from `TimerLead` (default 200 µs) before the deadline the hog's preemption points read the clock, "
            + "and with `AnticipateTimers` (default on) the point whose successor would come after the deadline (judged by the gap between the hog's last points) stops the hog there and the CPU spins to the deadline, "
            + "so the timer task runs at its deadline instead of up to K µs after it. The cost is the spin, taken from the hog: at most one point interval per deadline. "
            + "The [AnticipateTimers off] rows are the same defaults without it (the timer fires at the first point after its deadline): the same-run baseline of the default timer rows. "
            + "The `rt/timer` thread (an hrtimer-interrupt analogue) does not wake at the deadline of a CPU whose points poll: it backs the CPU up 25 µs after it (for a countdown of points that overshot), "
            + "so that when the OS runs it on core 0 it does not take the core from the woken task; it flags the CPU at the deadline only for a CPU without a timer lead, and only then spins to it under `SpinBeforePark`.");
    }

    /// <summary>
    /// Runs the timer and event rows untimed, in rounds of 1,000 wakeups, until a round and the pause
    /// after it compiled at most 5 methods (at least 2 rounds, at most 20). Without it the first row
    /// measured while the JIT was still promoting the runtime's and the loops' code (about 1,000 methods
    /// over the first seconds): its background thread took core 0 from the CPU thread, and that row
    /// missed K + 5 µs in runs where every later row met it. With tiering off
    /// (`DOTNET_TieredCompilation=0`) it met it in every run.
    /// </summary>
    private static async Task WarmUpAsync(CompareSettings s, TextWriter log, long interval)
    {
        int max = s.Quick ? 1 : 20;
        long compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
        int rounds = 0;
        long last = long.MaxValue;
        while (rounds < max)
        {
            rounds++;
            _ = await RtTimerAsync("warm-up", OneCpu(fifo: false), 1000, interval, 10_000);
            _ = await RtEventAsync("warm-up", OneCpu(fifo: false), 1000, interval, 10_000);
            await Task.Delay(200);
            long now = System.Runtime.JitInfo.GetCompiledMethodCount();
            last = now - compiled;
            compiled = now;
            if (rounds >= 2 && last <= 5)
            {
                break;
            }
        }

        log.WriteLine($"  warm-up: {rounds} rounds of the K = 10 µs timer and event rows, untimed; {last} methods compiled in the last");
    }

    /// <summary>
    /// The floor of the event rows without the runtime: the hog's loop on a plain thread pinned to core 0,
    /// reading a flag where the hog passes its preemption point, and the event rows' setter on core 1.
    /// </summary>
    private static Latency BareFlagFloor(string label, int n, long intervalNs, long pointNs)
    {
        var h = new Latency(label);
        var stop = new Flag();
        var ready = new Flag();
        var raised = new Flag();
        var stamp = new StrongBox<long>();
        var hog = new Thread(() =>
        {
            PinIfLinux(0);
            int seen = -RtLoops.Warmup;
            ready.Set();
            while (seen < n)
            {
                long now = Busy.For(pointNs);
                if (raised.IsSet)
                {
                    if (seen++ >= 0)
                    {
                        h.Record(now - Volatile.Read(ref stamp.Value));
                    }

                    raised.Clear();
                    ready.Set();
                }
            }

            stop.Set();
        })
        { IsBackground = true, Name = "cmp/floor-hog" };
        hog.Start();
        Thread setter = StartSetter("cmp/floor-setter", ready, stop, intervalNs, stamp, raised.Set);
        hog.Join();
        setter.Join();
        return h;
    }

    /// <summary>
    /// The floor of the timer rows without the runtime: a plain thread pinned to core 0 spins on the clock
    /// to each of their deadlines (<see cref="DeadlineSequence.Jittered"/>), so only the machine can make
    /// it late.
    /// </summary>
    private static Latency BareTimerFloor(string label, int n, long intervalNs)
    {
        var h = new Latency(label);
        var spinner = new Thread(() =>
        {
            PinIfLinux(0);
            DeadlineSequence deadlines = DeadlineSequence.Jittered(intervalNs);
            long next = deadlines.Next(RtClock.NowNs());
            for (int i = -RtLoops.Warmup; i < n; i++)
            {
                long now = Busy.Until(next);
                if (i >= 0)
                {
                    h.Record(now - next);
                }

                next = deadlines.NextAfter(next, now);
            }
        })
        { IsBackground = true, Name = "cmp/timer-floor" };
        spinner.Start();
        spinner.Join();
        return h;
    }

    /// <summary>
    /// The setter of the event rows and of their floor, on core 1: after each <paramref name="ready"/>, a
    /// random 0.25–0.75 × period gap, then the time into <paramref name="stamp"/> and <paramref name="raise"/>; until <paramref name="stop"/>.
    /// </summary>
    private static Thread StartSetter(string name, Flag ready, Flag stop, long intervalNs, StrongBox<long> stamp, Action raise)
    {
        var setter = new Thread(() =>
        {
            PinIfLinux(1);
            var rng = new Random(12345);
            while (Busy.WaitFlag(ref ready.Value, ref stop.Value))
            {
                ready.Clear();
                Busy.For((intervalNs / 4) + rng.NextInt64(intervalNs / 2));
                Volatile.Write(ref stamp.Value, RtClock.NowNs());
                raise();
            }
        })
        { IsBackground = true, Name = name };
        setter.Start();
        return setter;
    }

    private static void PinIfLinux(int core)
    {
        if (OperatingSystem.IsLinux() && Environment.ProcessorCount > core)
        {
            Native.PinTo(core);
        }
    }

    private static RtSchedulerOptions OneCpu(bool fifo) => fifo
        ? new() { CpuCount = 1, Cores = [0], CpuThreadPolicy = CpuThreadPolicy.Fifo, CpuThreadPriority = 90 }
        : new() { CpuCount = 1, Cores = [0] };

    private static async Task<Latency> RtTimerAsync(string label, RtSchedulerOptions options, int n, long intervalNs, long pointNs)
    {
        await using RtScheduler rt = RtScheduler.Start(options);
        var stop = new Flag();
        var h = new Latency(label);
        Task hog = rt.Spawn("hog", 1, ctx => RtLoops.HogAsync(ctx, stop, pointNs)).AsTask();
        try
        {
            await rt.Spawn("measurer", 90, ctx => RtLoops.PeriodicAsync(ctx, h, n, intervalNs, jittered: true));
        }
        finally
        {
            stop.Set();
            await hog;
        }

        return h;
    }

    private static async Task<Latency> RtEventAsync(string label, RtSchedulerOptions options, int n, long intervalNs, long pointNs)
    {
        await using RtScheduler rt = RtScheduler.Start(options);
        var stop = new Flag();
        var ready = new Flag();
        var ev = new RtEvent(autoReset: true);
        var h = new Latency(label);
        var stamp = new StrongBox<long>();
        Task hog = rt.Spawn("hog", 1, ctx => RtLoops.HogAsync(ctx, stop, pointNs)).AsTask();
        Task waiter = rt.Spawn("waiter", 90, async ctx =>
        {
            for (int i = -RtLoops.Warmup; i < n; i++)
            {
                ready.Set();
                await ev.WaitAsync(ctx);
                long now = RtClock.NowNs();
                if (i >= 0)
                {
                    h.Record(now - Volatile.Read(ref stamp.Value));
                }
            }
        }).AsTask();
        Thread setter = StartSetter("cmp/setter", ready, stop, intervalNs, stamp, ev.Set);
        try
        {
            await waiter;
        }
        finally
        {
            stop.Set();
            await hog;
            setter.Join();
        }

        return h;
    }
}
