using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Compare.Sections;

/// <summary>3. Dispatch: spawn-and-run of empty tasks, a cross-CPU ping-pong, and a same-CPU yield switch.</summary>
internal static class DispatchSection
{
    public const string Title = "3. Dispatch";

    private static readonly Func<TaskContext, ValueTask> s_emptyBody = static _ =>
    {
        Interlocked.Increment(ref s_done);
        return ValueTask.CompletedTask;
    };

    private static readonly Action s_emptyAction = static () => Interlocked.Increment(ref s_done);
    private static int s_done;

    public static async Task RunAsync(CompareSettings s, Report report, TextWriter log)
    {
        var sec = new Section(Title);
        report.Sections.Add(sec);
        int reps = s.Reps;
        int cores = Environment.ProcessorCount;
        log.WriteLine("[3] dispatch");
        sec.Text.Add($"Throughput figures are medians of {reps} repetitions after one warm-up repetition (± half the spread). "
            + $"Spawn-and-run: a .NET thread outside the runtime starts {Fmt.Int(s.SpawnCount)} empty work items (each increments a shared counter) and waits (spinning) until all ran; "
            + "ns per item = elapsed / items. Ping-pong: two parties on two cores hand a token back and forth; ns per round trip. "
            + $"Yield: two tasks yield {Fmt.Int(s.Yields)} times each; ns of CPU per yield (RtRuntime: both tasks share one CPU, so elapsed / (2 × yields); "
            + "ThreadPool: the two tasks run on two pool threads at once, so elapsed / yields).");

        // Spawn and run.
        var spawn = new List<(string Name, double Ns, string Spread)>();
        int count = s.SpawnCount;
        foreach ((string name, RtSchedulerOptions o) in new[] { ("RtRuntime Spawn", new RtSchedulerOptions()), ("RtRuntime Spawn, SpinBeforePark", new RtSchedulerOptions { SpinBeforePark = TimerSection.Spin }) })
        {
            await using RtScheduler rt = RtScheduler.Start(o);
            List<double> xs = Repeat(reps, () => Drain(count, () =>
            {
                for (int i = 0; i < count; i++)
                {
                    rt.Spawn(null, 50, s_emptyBody);
                }
            }));
            spawn.Add((name, Fmt.Median(xs), Fmt.MedianSpread(xs)));
            log.WriteLine($"  {name}: {Fmt.Num(Fmt.Median(xs))} ns/task");
        }

        List<double> taskRun = Repeat(reps, () => Drain(count, () =>
        {
            for (int i = 0; i < count; i++)
            {
                _ = Task.Run(s_emptyAction);
            }
        }));
        spawn.Add(("Task.Run", Fmt.Median(taskRun), Fmt.MedianSpread(taskRun)));
        var item = new EmptyWorkItem();
        List<double> uq = Repeat(reps, () => Drain(count, () =>
        {
            for (int i = 0; i < count; i++)
            {
                ThreadPool.UnsafeQueueUserWorkItem(item, preferLocal: false);
            }
        }));
        spawn.Add(("ThreadPool.UnsafeQueueUserWorkItem", Fmt.Median(uq), Fmt.MedianSpread(uq)));
        using (var d = new ChannelDispatcher(cores))
        {
            List<double> ch = Repeat(reps, () => Drain(count, () =>
            {
                for (int i = 0; i < count; i++)
                {
                    d.Post(s_emptyAction);
                }
            }));
            spawn.Add(("thread-per-core Channel dispatcher", Fmt.Median(ch), Fmt.MedianSpread(ch)));
        }

        log.WriteLine($"  Task.Run: {Fmt.Num(Fmt.Median(taskRun))} ns/item");
        double rtSpawn = spawn[0].Ns;
        var st = new Table("Spawn-and-run of empty work items (ns per item, lower is better)", "variant", "ns/item", "M items/s", "RtRuntime Spawn / this (throughput ratio)");
        foreach ((string name, double ns, string spread) in spawn)
        {
            st.Add(name, spread, Fmt.Num(1000 / ns), Fmt.Ratio(ns / rtSpawn));
        }

        sec.Tables.Add(st);
        double spawnRatio = Fmt.Median(taskRun) / rtSpawn;
        report.Targets.Add(new TargetRow("Spawn-and-run of empty tasks ≥ 1.5× `Task.Run` (throughput)", $"{Fmt.Num(rtSpawn)} vs {Fmt.Num(Fmt.Median(taskRun))} ns/item", Fmt.Ratio(spawnRatio), spawnRatio >= 1.5));

        // Ping-pong.
        int rounds = s.PingPongRounds;
        var pp = new List<(string Name, double Ns, string Spread)>();
        foreach ((string name, RtSchedulerOptions o, bool sameCpu) in new[]
        {
            ("RtRuntime RtEvent ping-pong", new RtSchedulerOptions(), false),
            ("RtRuntime RtEvent ping-pong, SpinBeforePark", new RtSchedulerOptions { SpinBeforePark = TimerSection.Spin }, false),
            ("RtRuntime RtEvent ping-pong, FIFO CPU threads", new RtSchedulerOptions { CpuThreadPolicy = CpuThreadPolicy.Fifo, CpuThreadPriority = 90 }, false),
            ("RtRuntime RtEvent ping-pong, FIFO CPU threads + SpinBeforePark", new RtSchedulerOptions { CpuThreadPolicy = CpuThreadPolicy.Fifo, CpuThreadPriority = 90, SpinBeforePark = TimerSection.Spin }, false),
            ("RtRuntime RtEvent ping-pong, both tasks on CPU 0 (not cross-CPU; for reference)", new RtSchedulerOptions(), true),
        })
        {
            await using RtScheduler rt = RtScheduler.Start(o);
            var xs = new List<double>();
            for (int r = -1; r < reps; r++)
            {
                double ns = await RtPingPongAsync(rt, rounds, sameCpu);
                if (r >= 0)
                {
                    xs.Add(ns);
                }
            }

            pp.Add((name, Fmt.Median(xs), Fmt.MedianSpread(xs)));
            log.WriteLine($"  {name}: {Fmt.Num(Fmt.Median(xs))} ns/round trip");
        }

        var tpx = new List<double>();
        var tpSameThread = new List<double>();
        for (int r = -1; r < reps; r++)
        {
            (double ns, double sameThreadPct) = await ThreadPoolPingPongAsync(rounds);
            if (r >= 0)
            {
                tpx.Add(ns);
                tpSameThread.Add(sameThreadPct);
            }
        }

        pp.Add(("ThreadPool SemaphoreSlim.WaitAsync ping-pong", Fmt.Median(tpx), Fmt.MedianSpread(tpx)));
        double? line = null;
        await using (RtScheduler rt = RtScheduler.Start(new RtSchedulerOptions()))
        {
            if (rt.CpuCount > 1)
            {
                var lines = new List<double>();
                for (int r = -1; r < reps; r++)
                {
                    double ns = await CacheLineRoundTripAsync(rt, rounds * 10);
                    if (r >= 0)
                    {
                        lines.Add(ns);
                    }
                }

                line = Fmt.Median(lines);
                pp.Add(("one cache line bounced between tasks on CPUs 0 and 1 (spinning; the floor of any cross-core handoff)", line.Value, Fmt.MedianSpread(lines)));
            }
        }

        using (var d = new ChannelDispatcher(Math.Max(2, cores)))
        {
            List<double> chx = Repeat(reps, () => ChannelPingPong(d, rounds));
            pp.Add(("thread-per-core Channel dispatcher ping-pong", Fmt.Median(chx), Fmt.MedianSpread(chx)));
        }

        log.WriteLine($"  ThreadPool ping-pong: {Fmt.Num(Fmt.Median(tpx))} ns/round trip");
        var pt = new Table($"Ping-pong between two cores, {Fmt.Int(rounds)} round trips (ns per round trip)", "variant", "ns/round trip", "µs/round trip", "this / ThreadPool");
        foreach ((string name, double ns, string spread) in pp)
        {
            pt.Add(name, spread, Fmt.Num(ns / 1000), Fmt.Ratio(ns / Fmt.Median(tpx)));
        }

        sec.Tables.Add(pt);
        double ppRatio = pp[0].Ns / Fmt.Median(tpx);
        double ppSpinRatio = pp[1].Ns / Fmt.Median(tpx);
        string floor = line is { } l ? $" (cache-line round trip {Fmt.Num(l / 1000)} µs)" : string.Empty;
        report.Targets.Add(new TargetRow("Cross-CPU ping-pong round trip ≤ the ThreadPool's (defaults)", $"{Fmt.Num(pp[0].Ns / 1000)} vs {Fmt.Num(Fmt.Median(tpx) / 1000)} µs{floor}", Fmt.Ratio(ppRatio), ppRatio <= 1));
        report.Targets.Add(new TargetRow("Cross-CPU ping-pong round trip ≤ the ThreadPool's (SpinBeforePark)", $"{Fmt.Num(pp[1].Ns / 1000)} vs {Fmt.Num(Fmt.Median(tpx) / 1000)} µs{floor}", Fmt.Ratio(ppSpinRatio), ppSpinRatio <= 1));

        // Yield switch.
        int yields = s.Yields;
        double rtYield;
        List<double> ry;
        await using (RtScheduler rt = RtScheduler.Start(new RtSchedulerOptions()))
        {
            ry = new List<double>();
            for (int r = -1; r < reps; r++)
            {
                double ns = await RtYieldAsync(rt, yields);
                if (r >= 0)
                {
                    ry.Add(ns);
                }
            }

            rtYield = Fmt.Median(ry);
        }

        var ty = new List<double>();
        for (int r = -1; r < reps; r++)
        {
            double ns = await TaskYieldAsync(yields);
            if (r >= 0)
            {
                ty.Add(ns);
            }
        }

        double tpYield = Fmt.Median(ty);
        log.WriteLine($"  yield: RtRuntime {Fmt.Num(rtYield)} ns, Task.Yield {Fmt.Num(tpYield)} ns");
        var yt = new Table("Yield switch (ns of CPU per yield)", "variant", "ns/yield", "this / Task.Yield");
        yt.Add("RtRuntime `await ctx.Yield()`, two FIFO 50 tasks on CPU 0", Fmt.MedianSpread(ry), Fmt.Ratio(rtYield / tpYield));
        yt.Add("`await Task.Yield()` on the ThreadPool, two tasks", Fmt.MedianSpread(ty), "1×");
        sec.Tables.Add(yt);
        report.Targets.Add(new TargetRow("Same-CPU yield switch below `await Task.Yield()`", $"{Fmt.Num(rtYield)} vs {Fmt.Num(tpYield)} ns", Fmt.Ratio(rtYield / tpYield), rtYield < tpYield));

        string[] labels = spawn.Select(x => x.Name.Replace("ThreadPool.", string.Empty, StringComparison.Ordinal)).ToArray();
        sec.Images.Add(("spawn-and-run", Plots.Bars("Spawn-and-run of empty work items", "ns per item", labels, spawn.Select(x => x.Ns).ToArray(), s.ImageDir, "compare-spawn")));
        sec.Images.Add(("ping-pong", Plots.Bars("Ping-pong round trip between two cores", "µs per round trip", pp.Select(x => x.Name).ToArray(), pp.Select(x => x.Ns / 1000).ToArray(), s.ImageDir, "compare-pingpong")));
        sec.Notes.Add("An idle RtRuntime CPU polls for an adaptive window before it parks on a futex (`IdlePollMax`, default 100 µs: the window grows while handoffs come soon after parking, as in a ping-pong); "
            + "a handoff to a parked CPU pays a futex wake (15–21 µs on this VM kind). `SpinBeforePark` replaces the adaptive window with a fixed 50 µs spin. The ThreadPool's workers spin before they block.");
        sec.Notes.Add($"The ThreadPool's ping-pong is mostly not cross-CPU: in this run the pong side ran on the same pool thread as the ping side's previous step in "
            + $"{Fmt.Num(Fmt.Median(tpSameThread))} % of round trips (median of the repetitions; a released `SemaphoreSlim` waiter's continuation is queued to the releasing worker's local queue, "
            + "which that worker usually runs next). The RtRuntime rows pin the two tasks to CPUs 0 and 1, so every handoff crosses cores; the same-CPU row shows the handoff without the crossing.");
        if (line is { } floorNs)
        {
            sec.Notes.Add($"The cache-line row is what any cross-core handoff costs at least on this machine at this moment (it varies 4–8× between the VM's fast and slow phases): "
                + $"RtRuntime's cross-CPU round trip took {Fmt.Num(pp[0].Ns / floorNs)} of them in this run (two handoffs, each a wakeup the other CPU must notice, queue and run).");
        }
    }

    private static List<double> Repeat(int reps, Func<double> measure)
    {
        var xs = new List<double>();
        for (int r = -1; r < reps; r++)
        {
            double v = measure();
            if (r >= 0)
            {
                xs.Add(v);
            }
        }

        return xs;
    }

    /// <summary>Runs <paramref name="start"/> (which starts <paramref name="count"/> items) and spins until all ran; ns per item.</summary>
    private static double Drain(int count, Action start)
    {
        Volatile.Write(ref s_done, 0);
        long t0 = RtClock.NowNs();
        start();
        var spin = new SpinWait();
        while (Volatile.Read(ref s_done) < count)
        {
            spin.SpinOnce(-1);
        }

        return (RtClock.NowNs() - t0) / (double)count;
    }

    private static async Task<double> RtPingPongAsync(RtScheduler rt, int rounds, bool sameCpu)
    {
        var toA = new RtEvent(autoReset: true);
        var toB = new RtEvent(autoReset: true);
        int cpuB = rt.CpuCount > 1 && !sameCpu ? 1 : 0;
        RtTask b = rt.Spawn("pong", 50, async ctx =>
        {
            for (int i = 0; i < rounds; i++)
            {
                await toB.WaitAsync(ctx);
                toA.Set();
            }
        }, SchedPolicy.Fifo, CpuSet.Of(cpuB));
        long elapsed = await rt.Spawn<long>("ping", 50, async ctx =>
        {
            long t0 = RtClock.NowNs();
            for (int i = 0; i < rounds; i++)
            {
                toB.Set();
                await toA.WaitAsync(ctx);
            }

            return RtClock.NowNs() - t0;
        }, SchedPolicy.Fifo, CpuSet.Of(0));
        await b;
        return elapsed / (double)rounds;
    }

    /// <summary>
    /// The floor of a cross-core handoff on this machine: tasks on CPUs 0 and 1 hand one word (alone on
    /// its cache line) back and forth by spinning on it, with no wakeup; ns per round trip.
    /// </summary>
    private static async Task<double> CacheLineRoundTripAsync(RtScheduler rt, int rounds)
    {
        var box = new long[32]; // the word at index 16 has its cache line to itself
        RtTask pong = rt.Spawn("line/pong", 50, ctx =>
        {
            for (long i = 0; i < rounds; i++)
            {
                while (Volatile.Read(ref box[16]) != (2 * i) + 1)
                {
                }

                Volatile.Write(ref box[16], (2 * i) + 2);
            }

            return ValueTask.CompletedTask;
        }, SchedPolicy.Fifo, CpuSet.Of(1));
        long elapsed = await rt.Spawn<long>("line/ping", 50, ctx =>
        {
            long t0 = RtClock.NowNs();
            for (long i = 0; i < rounds; i++)
            {
                Volatile.Write(ref box[16], (2 * i) + 1);
                while (Volatile.Read(ref box[16]) != (2 * i) + 2)
                {
                }
            }

            return ValueTask.FromResult(RtClock.NowNs() - t0);
        }, SchedPolicy.Fifo, CpuSet.Of(0));
        await pong;
        return elapsed / (double)rounds;
    }

    /// <summary>The ThreadPool ping-pong: ns per round trip, and the share of round trips (%) whose pong step ran on the thread of the ping's previous step.</summary>
    private static async Task<(double Ns, double SameThreadPct)> ThreadPoolPingPongAsync(int rounds)
    {
        using var toA = new SemaphoreSlim(0);
        using var toB = new SemaphoreSlim(0);
        int pingThread = 0;
        int sameThread = 0;
        Task b = Task.Run(async () =>
        {
            for (int i = 0; i < rounds; i++)
            {
                await toB.WaitAsync();
                if (Environment.CurrentManagedThreadId == Volatile.Read(ref pingThread))
                {
                    sameThread++;
                }

                toA.Release();
            }
        });
        long elapsed = await Task.Run(async () =>
        {
            long t0 = RtClock.NowNs();
            for (int i = 0; i < rounds; i++)
            {
                Volatile.Write(ref pingThread, Environment.CurrentManagedThreadId);
                toB.Release();
                await toA.WaitAsync();
            }

            return RtClock.NowNs() - t0;
        });
        await b;
        return (elapsed / (double)rounds, 100.0 * sameThread / rounds);
    }

    private static double ChannelPingPong(ChannelDispatcher d, int rounds)
    {
        int left = rounds;
        using var done = new ManualResetEventSlim();
        Action? ping = null;
        Action pong = () => d.Post(0, ping!);
        ping = () =>
        {
            if (--left <= 0)
            {
                done.Set();
            }
            else
            {
                d.Post(1, pong);
            }
        };
        long t0 = RtClock.NowNs();
        d.Post(1, pong);
        done.Wait();
        return (RtClock.NowNs() - t0) / (double)rounds;
    }

    private static async Task<double> RtYieldAsync(RtScheduler rt, int yields)
    {
        var gate = new RtEvent(autoReset: false);
        long end0 = 0;
        long end1 = 0;
        async ValueTask Body(TaskContext ctx, int which)
        {
            await gate.WaitAsync(ctx);
            for (int i = 0; i < yields; i++)
            {
                await ctx.Yield();
            }

            if (which == 0)
            {
                Volatile.Write(ref end0, RtClock.NowNs());
            }
            else
            {
                Volatile.Write(ref end1, RtClock.NowNs());
            }
        }

        RtTask a = rt.Spawn("yield/a", 50, ctx => Body(ctx, 0), SchedPolicy.Fifo, CpuSet.Of(0));
        RtTask b = rt.Spawn("yield/b", 50, ctx => Body(ctx, 1), SchedPolicy.Fifo, CpuSet.Of(0));
        await Task.Delay(20);
        long t0 = RtClock.NowNs();
        gate.Set();
        await a;
        await b;
        return (Math.Max(Volatile.Read(ref end0), Volatile.Read(ref end1)) - t0) / (2.0 * yields);
    }

    private static async Task<double> TaskYieldAsync(int yields)
    {
        async Task Body()
        {
            for (int i = 0; i < yields; i++)
            {
                await Task.Yield();
            }
        }

        long t0 = RtClock.NowNs();
        await Task.WhenAll(Task.Run(Body), Task.Run(Body));
        return (RtClock.NowNs() - t0) / (double)yields;
    }

    private sealed class EmptyWorkItem : IThreadPoolWorkItem
    {
        public void Execute() => Interlocked.Increment(ref s_done);
    }
}
