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

    // The issues' baseline: Task.Run of an empty async lambda (an async method with its awaitable completion, as a spawned body is).
    private static readonly Func<Task> s_emptyAsyncLambda = static async () =>
    {
        Interlocked.Increment(ref s_done);
        await Task.CompletedTask;
    };
    private static int s_done;

    public static async Task RunAsync(CompareSettings s, Report report, TextWriter log)
    {
        var sec = new Section(Title);
        report.Sections.Add(sec);
        int reps = s.Reps;
        int cores = Environment.ProcessorCount;
        log.WriteLine("[3] dispatch");
        sec.Text.Add($"Throughput figures are medians of {reps} repetitions after one warm-up repetition (± half the spread); in every repetition the variants of a table run once each, in turn, so that all of them see the same phases of this shared machine. "
            + $"Spawn-and-run: a .NET thread outside the runtime starts {Fmt.Int(s.SpawnCount)} empty work items (each increments a shared counter) and waits (spinning) until all ran; "
            + "ns per item = elapsed / items. Ping-pong: two parties on two cores hand a token back and forth; ns per round trip. "
            + $"Yield: two tasks yield {Fmt.Int(s.Yields)} times each; ns of CPU per yield (RtRuntime: both tasks share one CPU, so elapsed / (2 × yields); "
            + "ThreadPool: the two tasks run on two pool threads at once, so elapsed / yields).");

        // Spawn and run. Every repetition runs each variant once, in turn, so that RtRuntime and its
        // baselines see the same phases of this shared VM (a cache line's round trip moves 4-8x between them).
        int count = s.SpawnCount;
        using var spawnChannel = new ChannelDispatcher(cores);
        var item = new EmptyWorkItem();
        (string Name, Func<Task<double>> Measure)[] spawnVariants =
        [
            ("RtRuntime Spawn", () => RtSpawnDrainAsync(new RtSchedulerOptions(), count)),
            ("RtRuntime Spawn, SpinBeforePark", () => RtSpawnDrainAsync(new RtSchedulerOptions { SpinBeforePark = TimerSection.Spin }, count)),
            ("Task.Run of an empty async lambda", () => Task.FromResult(TaskRunAsyncLambdaDrain(count))),
            ("Task.Run of an empty Action", () => Task.FromResult(TaskRunDrain(count))),
            ("RtRuntime RunAsync (task objects from the runtime's cache)", () => RtSpawnDrainAsync(new RtSchedulerOptions(), count, cached: true)),
            ("ThreadPool.UnsafeQueueUserWorkItem", () => Task.FromResult(WarmedDrain(count, n =>
            {
                for (int i = 0; i < n; i++)
                {
                    ThreadPool.UnsafeQueueUserWorkItem(item, preferLocal: false);
                }
            }))),
            ("thread-per-core Channel dispatcher", () => Task.FromResult(WarmedDrain(count, n =>
            {
                for (int i = 0; i < n; i++)
                {
                    spawnChannel.Post(s_emptyAction);
                }
            }))),
        ];
        List<double>[] spawnXs = await InterleavedAsync(reps, spawnVariants.Select(v => v.Measure).ToArray());
        var spawn = spawnVariants.Select((v, i) => (v.Name, Ns: Fmt.Median(spawnXs[i]), Spread: Fmt.MedianSpread(spawnXs[i]))).ToList();
        foreach ((string name, double ns, _) in spawn)
        {
            log.WriteLine($"  {name}: {Fmt.Num(ns)} ns/item");
        }

        double rtSpawn = spawn[0].Ns;
        double taskRun = spawn[2].Ns;
        double taskRunAction = spawn[3].Ns;
        var st = new Table("Spawn-and-run of empty work items (ns per item, lower is better)", "variant", "ns/item", "M items/s", "RtRuntime Spawn / this (throughput ratio)");
        foreach ((string name, double ns, string spread) in spawn)
        {
            st.Add(name, spread, Fmt.Num(1000 / ns), Fmt.Ratio(ns / rtSpawn));
        }

        sec.Tables.Add(st);
        double spawnRatio = taskRun / rtSpawn;
        report.Targets.Add(new TargetRow("Spawn-and-run of empty tasks ≥ 1.5× `Task.Run` of an empty async lambda (throughput)", $"{Fmt.Num(rtSpawn)} vs {Fmt.Num(taskRun)} ns/item", Fmt.Ratio(spawnRatio), spawnRatio >= 1.5));
        double rtRunAsync = spawn[4].Ns;
        double runAsyncRatio = taskRun / rtRunAsync;
        report.Targets.Add(new TargetRow("Spawn-and-run of empty tasks ≥ 1.5× `Task.Run` of an empty async lambda (throughput), through `RunAsync` (cached task objects, a ValueTask completion)", $"{Fmt.Num(rtRunAsync)} vs {Fmt.Num(taskRun)} ns/item", Fmt.Ratio(runAsyncRatio), runAsyncRatio >= 1.5));
        double actionRatio = taskRunAction / rtSpawn;
        report.Targets.Add(new TargetRow("Spawn-and-run of empty tasks ≥ 1.5× `Task.Run` of an empty `Action` (throughput; stricter than the issues' baseline: no async method, no unwrapping proxy)", $"{Fmt.Num(rtSpawn)} vs {Fmt.Num(taskRunAction)} ns/item", Fmt.Ratio(actionRatio), actionRatio >= 1.5));
        await SpawnSettingsChild.AddTableAsync(sec, report, count, reps, log);

        // Ping-pong, interleaved the same way.
        int rounds = s.PingPongRounds;
        var tpSameThread = new List<double>();
        using var pingChannel = new ChannelDispatcher(Math.Max(2, cores));
        var ppVariants = new List<(string Name, Func<Task<double>> Measure)>
        {
            ("RtRuntime RtEvent ping-pong", () => RtPingPongOnceAsync(new RtSchedulerOptions(), rounds, sameCpu: false)),
            ("RtRuntime RtEvent ping-pong, SpinBeforePark", () => RtPingPongOnceAsync(new RtSchedulerOptions { SpinBeforePark = TimerSection.Spin }, rounds, sameCpu: false)),
            ("RtRuntime RtEvent ping-pong, FIFO CPU threads", () => RtPingPongOnceAsync(new RtSchedulerOptions { CpuThreadPolicy = CpuThreadPolicy.Fifo, CpuThreadPriority = 90 }, rounds, sameCpu: false)),
            ("RtRuntime RtEvent ping-pong, FIFO CPU threads + SpinBeforePark", () => RtPingPongOnceAsync(new RtSchedulerOptions { CpuThreadPolicy = CpuThreadPolicy.Fifo, CpuThreadPriority = 90, SpinBeforePark = TimerSection.Spin }, rounds, sameCpu: false)),
            ("RtRuntime RtEvent ping-pong, both tasks on CPU 0 (not cross-CPU; for reference)", () => RtPingPongOnceAsync(new RtSchedulerOptions(), rounds, sameCpu: true)),
            ("ThreadPool SemaphoreSlim.WaitAsync ping-pong", async () =>
            {
                _ = await ThreadPoolPingPongAsync(Math.Max(1, rounds / 10)); // warmed by a tenth of the round trips, as the RtRuntime rows
                (double ns, double sameThreadPct) = await ThreadPoolPingPongAsync(rounds);
                tpSameThread.Add(sameThreadPct);
                return ns;
            }),
            ("thread-per-core Channel dispatcher ping-pong", () =>
            {
                _ = ChannelPingPong(pingChannel, Math.Max(1, rounds / 10)); // the same warm-up
                return Task.FromResult(ChannelPingPong(pingChannel, rounds));
            }),
        };
        bool withLine = Environment.ProcessorCount > 1;
        if (withLine)
        {
            ppVariants.Add(("one cache line bounced between tasks on CPUs 0 and 1 (spinning; the floor of any cross-core handoff)", () => CacheLineRoundTripAsync(rounds * 10)));
        }

        List<double>[] ppXs = await InterleavedAsync(reps, ppVariants.Select(v => v.Measure).ToArray());
        var pp = ppVariants.Select((v, i) => (v.Name, Ns: Fmt.Median(ppXs[i]), Spread: Fmt.MedianSpread(ppXs[i]))).ToList();
        foreach ((string name, double ns, _) in pp)
        {
            log.WriteLine($"  {name}: {Fmt.Num(ns)} ns/round trip");
        }

        double tpPing = pp[5].Ns;
        double? line = withLine ? pp[^1].Ns : null;
        var pt = new Table($"Ping-pong between two cores, {Fmt.Int(rounds)} round trips (ns per round trip)", "variant", "ns/round trip", "µs/round trip", "this / ThreadPool");
        foreach ((string name, double ns, string spread) in pp)
        {
            pt.Add(name, spread, Fmt.Num(ns / 1000), Fmt.Ratio(ns / tpPing));
        }

        sec.Tables.Add(pt);
        double ppRatio = pp[0].Ns / tpPing;
        double ppSpinRatio = pp[1].Ns / tpPing;
        string floor = line is { } l ? $" (cache-line round trip {Fmt.Num(l / 1000)} µs)" : string.Empty;
        report.Targets.Add(new TargetRow("Cross-CPU ping-pong round trip ≤ the ThreadPool's (defaults)", $"{Fmt.Num(pp[0].Ns / 1000)} vs {Fmt.Num(tpPing / 1000)} µs{floor}", Fmt.Ratio(ppRatio), ppRatio <= 1));
        report.Targets.Add(new TargetRow("Cross-CPU ping-pong round trip ≤ the ThreadPool's (SpinBeforePark)", $"{Fmt.Num(pp[1].Ns / 1000)} vs {Fmt.Num(tpPing / 1000)} µs{floor}", Fmt.Ratio(ppSpinRatio), ppSpinRatio <= 1));

        // Yield switch, interleaved the same way (each repetition runs both variants in turn).
        int yields = s.Yields;
        List<double> ry;
        List<double> ty;
        await using (RtScheduler rt = RtScheduler.Start(new RtSchedulerOptions()))
        {
            List<double>[] yXs = await InterleavedAsync(reps, [() => RtYieldAsync(rt, yields), () => TaskYieldAsync(yields)]);
            ry = yXs[0];
            ty = yXs[1];
        }

        double rtYield = Fmt.Median(ry);
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
            + "a handoff to a parked CPU pays a futex wake. `SpinBeforePark` replaces the adaptive window with a fixed 50 µs spin. The ThreadPool's workers spin before they block.");
        sec.Notes.Add($"The ThreadPool's ping-pong is mostly not cross-CPU: in this run the pong side ran on the same pool thread as the ping side's previous step in "
            + $"{Fmt.Num(Fmt.Median(tpSameThread))} % of round trips (median of the repetitions; a released `SemaphoreSlim` waiter's continuation is queued to the releasing worker's local queue, "
            + "which that worker usually runs next). The RtRuntime rows pin the two tasks to CPUs 0 and 1, so every handoff crosses cores; the same-CPU row shows the handoff without the crossing.");
        if (line is { } floorNs)
        {
            sec.Notes.Add($"The cache-line row is what any cross-core handoff costs at least on this machine at this moment (it varies between the VM's fast and slow phases): "
                + $"RtRuntime's cross-CPU round trip took {Fmt.Num(pp[0].Ns / floorNs)} of them in this run (two handoffs, each a wakeup the other CPU must notice, queue and run).");
        }
    }

    /// <summary>
    /// One warm-up pass and <paramref name="reps"/> measured passes; each pass runs every variant once, in
    /// turn, so that the variants of one table see the same phases of the machine. Per variant, the measured values.
    /// </summary>
    private static async Task<List<double>[]> InterleavedAsync(int reps, Func<Task<double>>[] variants)
    {
        var xs = variants.Select(_ => new List<double>()).ToArray();
        for (int r = -1; r < reps; r++)
        {
            for (int v = 0; v < variants.Length; v++)
            {
                double x = await variants[v]();
                if (r >= 0)
                {
                    xs[v].Add(x);
                }
            }
        }

        return xs;
    }

    /// <summary>
    /// One spawn-and-run measurement on a runtime of its own, started and stopped outside the timing and
    /// warmed by a tenth of the work first (its idle poll adapts to the load, as a long-running one has).
    /// </summary>
    internal static async Task<double> RtSpawnDrainAsync(RtSchedulerOptions options, int count, bool cached = false)
    {
        await using RtScheduler rt = RtScheduler.Start(options);
        double result = 0;
        foreach (int n in new[] { Math.Max(1, count / 10), count })
        {
            result = Drain(n, cached
                ? () =>
                {
                    for (int i = 0; i < n; i++)
                    {
                        Forget(rt.RunAsync(null, 50, s_emptyBody)); // no handle kept, as for Task.Run below
                    }
                }
                : () =>
                {
                    for (int i = 0; i < n; i++)
                    {
                        rt.Spawn(null, 50, s_emptyBody);
                    }
                });
        }

        return result;
    }

    /// <summary>Leaves a completion unawaited on purpose (the drain counts the bodies instead).</summary>
    private static void Forget(ValueTask run) => _ = run.IsCompleted;

    /// <summary>One ping-pong measurement on a runtime of its own, warmed by a tenth of the round trips first.</summary>
    private static async Task<double> RtPingPongOnceAsync(RtSchedulerOptions options, int rounds, bool sameCpu)
    {
        await using RtScheduler rt = RtScheduler.Start(options);
        await RtPingPongAsync(rt, Math.Max(1, rounds / 10), sameCpu);
        return await RtPingPongAsync(rt, rounds, sameCpu);
    }

    /// <summary>The Task.Run row: <paramref name="count"/> empty work items through <c>Task.Run</c>, drained, after a tenth of them as warm-up (as the RtRuntime rows); ns per item.</summary>
    internal static double TaskRunDrain(int count) => WarmedDrain(count, n =>
    {
        for (int i = 0; i < n; i++)
        {
            _ = Task.Run(s_emptyAction);
        }
    });

    /// <summary>The issues' baseline: <paramref name="count"/> empty async lambdas through <c>Task.Run</c>, drained, warmed as the other rows; ns per item.</summary>
    internal static double TaskRunAsyncLambdaDrain(int count) => WarmedDrain(count, n =>
    {
        for (int i = 0; i < n; i++)
        {
            _ = Task.Run(s_emptyAsyncLambda);
        }
    });

    /// <summary>A baseline's drain warmed as <see cref="RtSpawnDrainAsync"/> warms the runtime: a tenth of the items first, untimed; ns per item of the timed drain.</summary>
    private static double WarmedDrain(int count, Action<int> start)
    {
        int warm = Math.Max(1, count / 10);
        _ = Drain(warm, () => start(warm));
        return Drain(count, () => start(count));
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
    private static async Task<double> CacheLineRoundTripAsync(int rounds)
    {
        await using RtScheduler rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 2 });
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
