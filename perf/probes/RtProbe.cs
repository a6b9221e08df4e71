#:project ../../src/RtRuntime/RtRuntime.csproj
#:property TreatWarningsAsErrors=false
#:property AllowUnsafeBlocks=true
#:property NoWarn=CA1303;CA1305;CA1307;CA1309;CA1310;CA1822;CA1852;CA2007;IDE0005;IDE0058
// Quick probes behind figures in docs/benchmarks.md that BenchmarkDotNet does not isolate:
//   dotnet run perf/probes/RtProbe.cs -- spawn [IdlePollMax µs]      10,000 spawns then a wait, × 50 after 10 warm-up rounds; ns per task, GC share
//   dotnet run perf/probes/RtProbe.cs -- affine [IdlePollMax µs]     the same, each task affine to one CPU, alternating CPUs 0 and 1 (thread-per-core placement)
//   dotnet run perf/probes/RtProbe.cs -- burst                        perf/compare's spawn row (rt.Spawn, rt.RunAsync) against Task.Run in the same process: 50,000 items whose
//                                                                     body increments one shared counter, no handle kept, then a spinning wait; × 16, alternating; medians
//                                                                     (of the whole, of the spawning loop and of the spawning thread's CPU time in it),
//                                                                     minor page faults per 1,000 items and bytes the spawning thread allocated per item (try
//                                                                     DOTNET_gcConcurrent=0, compare's GC mode, or DOTNET_GCgen0size=0x8000000)
//   dotnet run perf/probes/RtProbe.cs -- spawncore                    a spawn burst from a thread pinned to core 0: RtRuntime with one CPU on core 1, and with two CPUs,
//                                                                     against Task.Run, alternating; 50,000 items per round, × 15; medians
//   dotnet run perf/probes/RtProbe.cs -- split                        spawn's two halves apart: one runtime CPU on core 1 held by a spinning task while
//                                                                     this thread (on core 0) spawns 10,000 tasks (producer cost), then released (consumer cost); × 20
//                                                                     after warm-up rounds that end when the JIT compiled nothing in one (Tier-1 code)
//   dotnet run perf/probes/RtProbe.cs -- pingpong [IdlePollMax µs]   RtEvent ping-pong between CPUs 0 and 1, 200,000 round trips, × 5 (the first two warm up)
//   dotnet run perf/probes/RtProbe.cs -- pingline                     the ping-pong and the cache-line floor alternately in one process (50,000 round trips each, × 8,
//                                                                     the first two warm up): ping-pong round trips in cache-line round trips (the A/B figure)
//   dotnet run perf/probes/RtProbe.cs -- samecpu                      the same with both tasks on CPU 0 (the handoff's software path, no crossing)
//   dotnet run perf/probes/RtProbe.cs -- cpu [IdlePollMax µs]        process CPU time with one periodic task at 0 (none), 1000, 200, 50 µs: each row a fresh runtime,
//                                                                     warmed up (a task run on each CPU, then 1 s with the periodic task running, or idle: the JIT's
//                                                                     tiers, rt/balance's tick backing off), then the process's CPU time over the next 2 s only (the
//                                                                     runtime's start, the JIT's first compilations and the warm-up are not in it)
//   dotnet run perf/probes/RtProbe.cs -- early [µs,µs,…]              the idle timer's early wake: a periodic task per CPU (2 CPUs, every 200 µs), the default
//                                                                     TimerEarlyWakeMax against 0 (or the listed bounds) in turn, 20,000 wakeups each, × 3: latency percentiles and CPU time
//   dotnet run perf/probes/RtProbe.cs -- timercore                    perf/compare's K = 10 µs timer-woken preemption row with rt/timer forced onto the busy CPU's core:
//                                                                     defaults and SpinBeforePark, × 3 each; latency percentiles and rt/timer's wakeups
//   dotnet run perf/probes/RtProbe.cs -- timerrow [period µs] [jitter] perf/compare's K = 10 µs timer-woken row (defaults) alone, 4 runs in one process: p50, p99 and late samples per tenth
//                                                                     of each run; deadlines every period (default 200 µs), or 0.75–1.25 × it apart with `jitter` (as perf/compare's)
//   dotnet run perf/probes/RtProbe.cs -- line                         the floor: tasks on CPUs 0 and 1 bounce one cache line, 200,000 round trips, × 3
//   dotnet run perf/probes/RtProbe.cs -- preempt [K µs] [tick ms]     perf/compare's event preemption row split into the waker's side and the CPU's, 20,000 samples
//   dotnet run perf/probes/RtProbe.cs -- gaps                         how often core 0 stops under a spinning loop (clock reads more than 20 µs apart): a bare pinned
//                                                                     thread and a task on rt/cpu0 alternately, 2 s each, × 4, with a thread spinning on core 1
//   dotnet run perf/probes/RtProbe.cs -- lead [work ns] [µs,µs,…]     the timer lead's cost: a task on CPU 0 passes a point every ~work ns (default 100) beside a FIFO-90
//                                                                     task waking every 1 ms on CPU 0; points per second with TimerLead 0, 200 µs, and 200 µs with
//                                                                     AnticipateTimers, in turn (or the listed leads, with AnticipateTimers) (cpu0's timer spins printed), 2 s × 5
//   dotnet run perf/probes/RtProbe.cs -- dying                        an offline waiting 2 s for a pinned sleeper: process CPU time, allocation and gen0 GCs over
//                                                                     the wait, against the same runtime idle for 2 s before it, × 3
//   dotnet run perf/probes/RtProbe.cs -- observe                      observability's cost, interleaved in one process: same-CPU yields and spawn-and-run on one CPU
//                                                                     with no listener, a MeterListener on every "RtRuntime" instrument, and that plus an
//                                                                     EventListener at Informational; 100 rounds after 5 warm-up rounds (the order rotating), medians
//   dotnet run perf/probes/RtProbe.cs -- switch [compiled-out]        one process's same-CPU yield switch (median of 40 rounds), with the RtRuntime.Instrumentation.IsSupported
//                                                                     switch off when asked; alternate it with the default in a shell loop to see the disabled sites' cost
//   dotnet run perf/probes/RtProbe.cs -- cancel                       cancelling sleepers by handle, newest first: n = 10k, 20k, 40k, 80k tasks asleep on CPU 0 with
//                                                                     distinct deadlines; ms until all ended and ns per cancel, × 3 per n
//   dotnet run perf/probes/RtProbe.cs -- waiters                      n = 5k..40k tasks of one priority blocking on one RtEvent on CPU 0, then one Set(): ms until all
//                                                                     are blocked (ns per waiter) and until all ended
//   dotnet run perf/probes/RtProbe.cs -- mixwaiters                   n/2 priority-10 tasks block on one RtEvent on CPU 0, then n/2 more at priority 20 (or 10: the
//                                                                     control); ms for the second half to block, n = 10k..80k
//   dotnet run perf/probes/RtProbe.cs -- pullscan                     n = 10k..80k tasks affine to cpu0 queued behind a busy task, with or without one pushable task
//                                                                     at the tail that idle cpu1 may not take (3 CPUs, cpu2 offline): cpu1's and rt/balance's CPU time,
//                                                                     and cpu0's yield time (its lock held by balancing scans)
//   dotnet run perf/probes/RtProbe.cs -- gcpause                      a FIFO-90 task waking every 200 µs on CPU 0 while a thread on core 1 spawns empty tasks on CPU 1 (Spawn,
//                                                                     then RunAsync, 2 s rounds, × 4): its lateness p99 / p99.9 / max, the GCs and GC pause time per round
//   dotnet run -c Release perf/probes/RtProbe.cs -- cputime         hot paths timed by the CPU thread's own CPU clock (CLOCK_THREAD_CPUTIME_ID: time the thread was
//                                                                     descheduled is not counted): 1M-iteration loops of a migrate guard pair, a preempt guard pair,
//                                                                     PerCpuCounter.Increment, a LocalLock TryLock pair (Rt, and NonRt on a second one-CPU runtime)
//                                                                     and an empty loop on one CPU, each called 60 times (pausing, so the JIT
//                                                                     reaches tier 1) before 5 rows of 20 calls; alternate with a `git worktree` for an A/B
// Run the spawn probe under `perf stat -e syscalls:sys_enter_futex,context-switches` for the wake counts.
using System.Diagnostics;
using System.Globalization;
using RtRuntime;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

string mode = args.Length > 0 ? args[0] : "spawn";
var poll = TimeSpan.FromMicroseconds(args.Length > 1 && int.TryParse(args[1], out int pollUs) ? pollUs : 100);
RtSchedulerOptions Options() => new() { CpuCount = 2, IdlePollMax = poll };

switch (mode)
{
    case "spawn" or "affine":
    {
        CpuSet?[] masks = mode == "affine" ? [CpuSet.Of(0), CpuSet.Of(1)] : [null, null];
        await using var rt = RtScheduler.Start(Options());
        const int N = 10_000;
        var handles = new RtTask[N];
        double total = 0;
        int gen0 = 0, gen1 = 0;
        TimeSpan pause = TimeSpan.Zero;
        for (int rep = 0; rep < 60; rep++)
        {
            if (rep == 10)
            {
                // the first ten rounds warm up (JIT tiers); the GC figures cover the measured fifty
                (total, gen0, gen1, pause) = (0, GC.CollectionCount(0), GC.CollectionCount(1), GC.GetTotalPauseDuration());
            }

            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < N; i++)
            {
                handles[i] = rt.Spawn(null, 10, static async ctx => await default(ValueTask), affinity: masks[i & 1]);
            }

            foreach (RtTask t in handles)
            {
                SpinWait s = default;
                while (!t.IsCompleted)
                {
                    s.SpinOnce();
                }
            }

            total += Stopwatch.GetElapsedTime(t0).TotalNanoseconds;
        }

        Console.WriteLine($"{mode} (IdlePollMax {poll.TotalMicroseconds} µs): {total / (50.0 * N):F0} ns per task; "
            + $"{GC.CollectionCount(0) - gen0} gen0 and {GC.CollectionCount(1) - gen1} gen1 collections, GC pauses {(GC.GetTotalPauseDuration() - pause).TotalNanoseconds / total * 100:F0} % of the time");
        break;
    }

    case "burst":
    {
        // perf/compare's spawn row, with Task.Run of the same body alternating in the same process: each
        // round spawns 50,000 items whose body increments one shared counter (no handle kept), then
        // spins until all ran; ns per item, medians of 16 rounds each after two warm-up rounds, and the
        // process's minor page faults per variant (getrusage). Compare GC settings through the
        // environment, e.g. DOTNET_gcConcurrent=0 (perf/compare's) or DOTNET_GCgen0size=0x8000000.
        await using var rt = RtScheduler.Start(Options());
        const int Count = 50_000;
        var times = new Dictionary<string, List<double>> { ["rt.Spawn"] = [], ["rt.RunAsync"] = [], ["Task.Run"] = [] };
        var faults = new Dictionary<string, long> { ["rt.Spawn"] = 0, ["rt.RunAsync"] = 0, ["Task.Run"] = 0 };
        var bytes = new Dictionary<string, long> { ["rt.Spawn"] = 0, ["rt.RunAsync"] = 0, ["Task.Run"] = 0 };
        var spawnLoop = new Dictionary<string, List<double>> { ["rt.Spawn"] = [], ["rt.RunAsync"] = [], ["Task.Run"] = [] };
        var spawnCpu = new Dictionary<string, List<double>> { ["rt.Spawn"] = [], ["rt.RunAsync"] = [], ["Task.Run"] = [] };
        for (int rep = -2; rep < 16; rep++)
        {
            foreach (string variant in times.Keys)
            {
                Volatile.Write(ref BurstCounter.Done, 0);
                long f0 = MinorFaults();
                long a0 = GC.GetAllocatedBytesForCurrentThread();
                long t0 = Stopwatch.GetTimestamp();
                long c0 = OwnThreadCpuNs();
                for (int i = 0; i < Count; i++)
                {
                    if (variant == "rt.Spawn")
                    {
                        rt.Spawn(null, 50, static _ =>
                        {
                            Interlocked.Increment(ref BurstCounter.Done);
                            return ValueTask.CompletedTask;
                        });
                    }
                    else if (variant == "rt.RunAsync")
                    {
                        _ = rt.RunAsync(null, 50, static _ =>
                        {
                            Interlocked.Increment(ref BurstCounter.Done);
                            return ValueTask.CompletedTask;
                        });
                    }
                    else
                    {
                        _ = Task.Run(static async () =>
                        {
                            Interlocked.Increment(ref BurstCounter.Done);
                            await Task.CompletedTask;
                        });
                    }
                }

                long tSpawned = Stopwatch.GetTimestamp();
                long c1 = OwnThreadCpuNs();
                var spin = default(SpinWait);
                while (Volatile.Read(ref BurstCounter.Done) < Count)
                {
                    spin.SpinOnce(-1);
                }

                if (rep >= 0)
                {
                    times[variant].Add(Stopwatch.GetElapsedTime(t0).TotalNanoseconds / Count);
                    spawnLoop[variant].Add(Stopwatch.GetElapsedTime(t0, tSpawned).TotalNanoseconds / Count);
                    spawnCpu[variant].Add((c1 - c0) / (double)Count);
                    bytes[variant] += GC.GetAllocatedBytesForCurrentThread() - a0;
                    faults[variant] += MinorFaults() - f0;
                }
            }
        }

        Console.WriteLine($"burst of {Count:N0} items × 16 (GC: concurrent {System.Runtime.GCSettings.LatencyMode != System.Runtime.GCLatencyMode.Batch}, gen0size {Environment.GetEnvironmentVariable("DOTNET_GCgen0size") ?? "default"}):");
        foreach ((string variant, List<double> xs) in times)
        {
            xs.Sort();
            List<double> loop = spawnLoop[variant], cpu = spawnCpu[variant];
            loop.Sort();
            cpu.Sort();
            Console.WriteLine($"  {variant,-11} median {xs[xs.Count / 2]:F0} ns per item (min {xs[0]:F0}, max {xs[^1]:F0}; the spawning loop {loop[loop.Count / 2]:F0}, the spawning thread's CPU time in it {cpu[cpu.Count / 2]:F0}); {faults[variant] / (16.0 * Count) * 1000:F1} minor page faults per 1,000 items; {bytes[variant] / (16.0 * Count):F1} B allocated per item by the spawning thread");
        }

        Console.WriteLine($"  rt.Spawn throughput / Task.Run's: {times["Task.Run"][8] / times["rt.Spawn"][8]:F2}×");
        Console.WriteLine($"  rt.RunAsync throughput / Task.Run's: {times["Task.Run"][8] / times["rt.RunAsync"][8]:F2}×");
        break;
    }

    case "spawncore":
    {
        // A spawn burst with the spawning thread pinned to core 0: RtRuntime with one CPU on core 1 (the
        // spawner's core left to it, as a housekeeping core) and with two CPUs (cores 0 and 1), against
        // Task.Run of the same body, alternating; 50,000 items per round, × 15 after 3 warm-up rounds.
        await using var one = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1, Cores = [1] });
        await using var two = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 2 });
        Task.Run(static () => { }).Wait(); // the pool's threads start before this thread is pinned
        Thread.BeginThreadAffinity();
        ulong spawnerCore = 1;
        if (SchedSetAffinity(0, sizeof(ulong), ref spawnerCore) != 0)
        {
            throw new InvalidOperationException("sched_setaffinity to core 0 failed");
        }

        const int Count = 50_000;
        var res = new Dictionary<string, List<double>> { ["rt, 1 CPU on core 1"] = [], ["rt, 2 CPUs"] = [], ["Task.Run"] = [] };
        for (int rep = -3; rep < 15; rep++)
        {
            foreach (string variant in res.Keys)
            {
                Volatile.Write(ref BurstCounter.Done, 0);
                long t0 = Stopwatch.GetTimestamp();
                for (int i = 0; i < Count; i++)
                {
                    if (variant == "Task.Run")
                    {
                        _ = Task.Run(static () => Interlocked.Increment(ref BurstCounter.Done));
                    }
                    else
                    {
                        (variant == "rt, 2 CPUs" ? two : one).Spawn(null, 50, static _ =>
                        {
                            Interlocked.Increment(ref BurstCounter.Done);
                            return ValueTask.CompletedTask;
                        });
                    }
                }

                var spin = default(SpinWait);
                while (Volatile.Read(ref BurstCounter.Done) < Count)
                {
                    spin.SpinOnce(-1);
                }

                if (rep >= 0)
                {
                    res[variant].Add(Stopwatch.GetElapsedTime(t0).TotalNanoseconds / Count);
                }
            }
        }

        Console.WriteLine($"spawn burst of {Count:N0} items from a thread pinned to core 0, × 15:");
        foreach ((string variant, List<double> xs) in res)
        {
            xs.Sort();
            Console.WriteLine($"  {variant,-20} median {xs[xs.Count / 2]:F0} ns per item (min {xs[0]:F0}, max {xs[^1]:F0})");
        }

        break;
    }

    case "split":
    {
        await using var rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1, Cores = [1] });
        Thread.BeginThreadAffinity();
        ulong core0 = 1;
        if (SchedSetAffinity(0, sizeof(ulong), ref core0) != 0)
        {
            throw new InvalidOperationException("sched_setaffinity to core 0 failed");
        }

        const int N = 10_000;
        var handles = new RtTask[N];
        // Warm-up rounds (not printed) until a whole round, and the pause after it, compiled nothing:
        // without them every round ran the runtime's Tier-0 code (the run is too short to tier up).
        long compiled = -1;
        int warm = 0;
        for (int rep = -40; rep < 20; rep++)
        {
            if (rep < 0)
            {
                long now = System.Runtime.JitInfo.GetCompiledMethodCount();
                if (now == compiled && warm >= 3)
                {
                    Console.WriteLine($"warm after {warm} rounds ({now} methods compiled)");
                    rep = 0;
                }
                else
                {
                    compiled = now;
                    warm++;
                    Thread.Sleep(200);
                }
            }

            int stop = 0;
            RtTask hog = rt.Spawn("hog", 90, ctx =>
            {
                while (Volatile.Read(ref stop) == 0)
                {
                }

                return ValueTask.CompletedTask;
            });
            while (hog.State != RtTaskState.Running)
            {
                Thread.Yield();
            }

            int gen0 = GC.CollectionCount(0);
            TimeSpan pause = GC.GetTotalPauseDuration();
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < N; i++)
            {
                handles[i] = rt.Spawn(null, 10, static async ctx => await default(ValueTask));
            }

            long t1 = Stopwatch.GetTimestamp();
            Volatile.Write(ref stop, 1);
            RtTask last = handles[N - 1];
            while (!last.IsCompleted)
            {
            }

            long t2 = Stopwatch.GetTimestamp();
            if (rep < 0)
            {
                continue;
            }

            Console.WriteLine($"producer {(t1 - t0) * 1e9 / Stopwatch.Frequency / N:F0} ns per spawn ({GC.CollectionCount(0) - gen0} gen0, "
                + $"GC pause {(GC.GetTotalPauseDuration() - pause).TotalNanoseconds / N:F0} ns per spawn); consumer {(t2 - t1) * 1e9 / Stopwatch.Frequency / N:F0} ns per task");
        }

        break;
    }

    case "pingpong" or "samecpu":
    {
        await using var rt = RtScheduler.Start(Options());
        for (int rep = 0; rep < 5; rep++)
        {
            double ns = await PingPongRoundTripNs(rt, 200_000, sameCpu: mode == "samecpu");
            Console.WriteLine($"{(mode == "samecpu" ? "same-CPU ping-pong" : "ping-pong")} (IdlePollMax {poll.TotalMicroseconds} µs): {ns:F0} ns per round trip");
        }

        break;
    }

    case "cpu":
        foreach (int periodUs in new[] { 0, 1000, 200, 50 })
        {
            // Warm up first, sample after: the row is the steady state alone (idle, or the periodic task
            // running), not the runtime's start, its threads' first JIT compilations or the tick's back-off.
            await using var rt = RtScheduler.Start(Options());
            for (int c = 0; c < 2; c++)
            {
                await rt.Spawn("warm-up", 50, static ctx => ValueTask.CompletedTask, affinity: CpuSet.Of(c));
            }

            int stop = 0;
            RtTask? periodic = periodUs == 0 ? null : rt.Spawn("periodic", 50, async ctx =>
            {
                long next = RtClock.NowNs();
                while (Volatile.Read(ref stop) == 0)
                {
                    next += periodUs * 1000L;
                    await ctx.SleepUntil(next);
                }
            });
            Thread.Sleep(1000);

            var p = Process.GetCurrentProcess();
            TimeSpan cpu0 = p.TotalProcessorTime;
            long t0 = Stopwatch.GetTimestamp();
            Thread.Sleep(2000);
            p.Refresh();
            TimeSpan cpu = p.TotalProcessorTime - cpu0;
            TimeSpan elapsed = Stopwatch.GetElapsedTime(t0);
            Volatile.Write(ref stop, 1);
            if (periodic is not null)
            {
                await periodic;
            }

            Console.WriteLine($"cpu (IdlePollMax {poll.TotalMicroseconds} µs), period {periodUs} µs: process CPU {cpu.TotalMilliseconds / elapsed.TotalMilliseconds * 100:F1} % of one core (2 s after a 1 s warm-up)");
        }

        break;

    case "early":
    {
        // The idle timer's early wake: TimerEarlyWakeMax bounds in turn (default: the default, then 0), × 3,
        // 2 CPUs, one FIFO 90 task per CPU sleeping to absolute deadlines every 200 µs (perf/compare section 1's loop).
        int[] bounds = args.Length > 1 ? args[1].Split(',').Select(int.Parse).ToArray() : [(int)new RtSchedulerOptions().TimerEarlyWakeMax.TotalMicroseconds, 0];
        for (int round = 0; round < 3 * bounds.Length; round++)
        {
            int boundUs = bounds[round % bounds.Length];
            await using var rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 2, TimerEarlyWakeMax = TimeSpan.FromMicroseconds(boundUs) });
            const int Wakeups = 20_000;
            var late = new List<long>[2];
            var p = Process.GetCurrentProcess();
            TimeSpan cpu0 = p.TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            var sleepers = new List<Task>();
            for (int c = 0; c < 2; c++)
            {
                var l = late[c] = new List<long>(Wakeups);
                sleepers.Add(rt.Spawn("periodic" + c, 90, ctx => PeriodicLateness(ctx, l, 200_000, Wakeups), SchedPolicy.Fifo, CpuSet.Of(c)).AsTask());
            }

            await Task.WhenAll(sleepers);
            p.Refresh();
            double cpuPct = (p.TotalProcessorTime - cpu0).TotalMilliseconds / sw.Elapsed.TotalMilliseconds / 2 * 100;
            long[] all = late[0].Concat(late[1]).Order().ToArray();
            string Q(double q) => (all[(int)(q * (all.Length - 1))] / 1000.0).ToString("F1", CultureInfo.InvariantCulture);
            TimeSpan learnt = rt.Snapshot().Cpus[0].TimerEarlyWake;
            Console.WriteLine($"early wake bound {boundUs,4} µs: p50 {Q(0.5)} p90 {Q(0.9)} p99 {Q(0.99)} p99.9 {Q(0.999)} µs, process CPU {cpuPct:F1} % of 2 cores, cpu0 learnt {learnt.TotalMicroseconds:F1} µs");
        }

        break;
    }

    case "timercore":
        // perf/compare's K = 10 µs timer-woken preemption row (one CPU on core 0: a FIFO 1 hog passes a point
        // every 10 µs, a FIFO 90 task sleeps to deadlines every 200 µs) with rt/timer forced onto core 0
        // (sched_setaffinity of its thread), where the OS may also put it unforced; defaults, then
        // SpinBeforePark = 100 µs, three rounds each, 10,000 samples.
        foreach (bool spin in new[] { false, false, false, true, true, true })
        {
            await using var rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1, Cores = [0], SpinBeforePark = spin ? TimeSpan.FromMicroseconds(100) : TimeSpan.Zero });
            int tid = ThreadId("rt/timer");
            ulong core0 = 1;
            _ = SchedSetAffinity(tid, sizeof(ulong), ref core0);
            long wakes0 = VoluntarySwitches(tid);
            const int Samples = 10_000;
            const long PointNs = 10_000, PeriodNs = 200_000;
            int stop = 0;
            var late = new List<long>(Samples);
            Task hog = rt.Spawn("hog", 1, async ctx =>
            {
                while (Volatile.Read(ref stop) == 0)
                {
                    long end = RtClock.NowNs() + PointNs;
                    while (RtClock.NowNs() < end)
                    {
                    }

                    await ctx.PreemptionPoint();
                }
            }).AsTask();
            await rt.Spawn("measurer", 90, ctx => PeriodicLateness(ctx, late, PeriodNs, Samples));
            long wakes = VoluntarySwitches(tid) - wakes0;
            Volatile.Write(ref stop, 1);
            await hog;
            long[] sorted = late.Order().ToArray();
            string Q(double q) => (sorted[(int)(q * (sorted.Length - 1))] / 1000.0).ToString("F2", CultureInfo.InvariantCulture);
            Console.WriteLine($"rt/timer on core 0, {(spin ? "SpinBeforePark 100 µs" : "defaults             ")}: p50 {Q(0.5)} p90 {Q(0.9)} p99 {Q(0.99)} µs, {sorted.Count(x => x > PointNs)} of {Samples} later than K; rt/timer woke {wakes} times");
        }

        break;

    case "timerrow":
    {
        // perf/compare's K = 10 µs timer-woken preemption row alone, four times in one process: one CPU
        // on core 0 (defaults), a FIFO 1 hog passing a point every 10 µs, a FIFO 90 task sleeping to a
        // deadline every 200 µs, 10,000 samples after 50; p50 / p99 and the late samples (> 15 µs, the
        // row's bound) per tenth of each run, to tell a warm-up (late samples at the start of the first
        // run) from a steady disturbance (spread through a run).
        long periodNs = args.Length > 1 ? long.Parse(args[1], CultureInfo.InvariantCulture) * 1000 : 200_000;
        bool jitter = args.Length > 2 && args[2] == "jitter";
        int leadUs = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 200;
        ulong lcg = 12345;
        long NextDeadline(long previous)
        {
            if (!jitter)
            {
                return previous + periodNs;
            }

            lcg = (lcg * 6364136223846793005UL) + 1442695040888963407UL; // perf/compare's DeadlineSequence.Jittered
            return previous + (periodNs * 3 / 4) + (long)((lcg >> 33) % (ulong)(periodNs / 2));
        }

        Console.WriteLine($"deadlines every {periodNs / 1000} µs{(jitter ? ", jittered 0.75–1.25 ×" : string.Empty)}");
        for (int run = 0; run < 4; run++)
        {
            await using var rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1, Cores = [0], TimerLead = TimeSpan.FromMicroseconds(leadUs) });
            const int N = 10_000;
            var lat = new long[N];
            int stop = 0;
            RtTask hog = rt.Spawn("hog", 1, async ctx =>
            {
                while (Volatile.Read(ref stop) == 0)
                {
                    long end = RtClock.NowNs() + 10_000;
                    while (RtClock.NowNs() < end)
                    {
                    }

                    await ctx.PreemptionPoint();
                }
            });
            await rt.Spawn("measurer", 90, async ctx =>
            {
                long next = NextDeadline(RtClock.NowNs());
                for (int i = -50; i < N; i++)
                {
                    await ctx.SleepUntil(next);
                    long now = RtClock.NowNs();
                    if (i >= 0)
                    {
                        lat[i] = now - next;
                    }

                    next = NextDeadline(next);
                    while (next <= now)
                    {
                        next = NextDeadline(next);
                    }
                }
            });
            Volatile.Write(ref stop, 1);
            await hog;
            long[] sorted = (long[])lat.Clone();
            Array.Sort(sorted);
            var late = new int[10];
            for (int i = 0; i < N; i++)
            {
                if (lat[i] > 15_000)
                {
                    late[i * 10 / N]++;
                }
            }

            Console.WriteLine($"run {run}: p50 {sorted[N / 2] / 1000.0:F2} µs, p99 {sorted[N * 99 / 100] / 1000.0:F2} µs, max {sorted[N - 1] / 1000.0:F0} µs; late (> 15 µs) per tenth of the run: {string.Join(' ', late)}");
        }

        break;
    }

    case "pingline":
    {
        // Ping-pong against the cache-line floor in one process, alternately: the host places the two
        // vCPUs differently from one process to the next (the floor moves 60-310 ns), so an A/B of the
        // handoff compares the ratio, not the ns.
        await using var rt = RtScheduler.Start(Options());
        var ratios = new List<double>();
        for (int rep = 0; rep < 8; rep++)
        {
            const int Rounds = 50_000;
            double line = await LineRoundTripNs(rt, Rounds);
            double ping = await PingPongRoundTripNs(rt, Rounds);
            if (rep >= 2)
            {
                ratios.Add(ping / line);
            }

            Console.WriteLine($"line {line:F0} ns, ping-pong {ping:F0} ns per round trip: {ping / line:F2} lines");
        }

        ratios.Sort();
        Console.WriteLine($"median of the last 6: {ratios[2]:F2}-{ratios[3]:F2} lines per ping-pong round trip");
        break;
    }

    case "line":
    {
        // What any cross-CPU handoff costs at least: one cache line moving to the other core and back.
        await using var rt = RtScheduler.Start(Options());
        for (int rep = 0; rep < 3; rep++)
        {
            Console.WriteLine($"cache line between CPUs 0 and 1: {await LineRoundTripNs(rt, 200_000):F0} ns per round trip");
        }

        break;
    }

    case "preempt":
    {
        // perf/compare's "RtRuntime event, point/K µs" row split in two: a FIFO 1 hog on CPU 0 (core 0)
        // passes a point every K µs; a thread on core 1 stamps the time and sets an event that a FIFO
        // 90 task there waits on. "stamp → Set returned" is the waker's side, "Set returned → running"
        // the CPU's. Third argument: BalanceTick in ms (default 10).
        long k = (args.Length > 1 ? long.Parse(args[1], CultureInfo.InvariantCulture) : 10) * 1000;
        double tickMs = args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 10;
        await using var rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1, Cores = [0], BalanceTick = TimeSpan.FromMilliseconds(tickMs) });
        const int N = 20_000;
        int stop = 0, ready = 0;
        long stamp = 0, setDone = 0;
        var total = new long[N];
        var wakerSide = new long[N];
        var cpuSide = new long[N];
        var ev = new RtEvent(autoReset: true);
        Task hog = rt.Spawn("hog", 1, async ctx =>
        {
            while (Volatile.Read(ref stop) == 0)
            {
                long end = RtClock.NowNs() + k;
                while (RtClock.NowNs() < end)
                {
                }

                await ctx.PreemptionPoint();
            }
        }).AsTask();
        Task waiter = rt.Spawn("waiter", 90, async ctx =>
        {
            for (int i = -50; i < N; i++)
            {
                Volatile.Write(ref ready, 1);
                await ev.WaitAsync(ctx);
                long now = RtClock.NowNs();
                long done;
                while ((done = Volatile.Read(ref setDone)) == 0)
                {
                }

                if (i >= 0)
                {
                    long s = Volatile.Read(ref stamp);
                    (total[i], wakerSide[i], cpuSide[i]) = (now - s, done - s, now - done);
                }

                Volatile.Write(ref setDone, 0);
            }
        }).AsTask();
        var setter = new Thread(() =>
        {
            ulong core1 = 2;
            if (SchedSetAffinity(0, sizeof(ulong), ref core1) != 0)
            {
                throw new InvalidOperationException("sched_setaffinity to core 1 failed");
            }

            var rng = new Random(12345);
            for (int i = -50; i < N; i++)
            {
                while (Volatile.Read(ref ready) == 0)
                {
                }

                Volatile.Write(ref ready, 0);
                long until = RtClock.NowNs() + 50_000 + rng.NextInt64(100_000);
                while (RtClock.NowNs() < until)
                {
                }

                Volatile.Write(ref stamp, RtClock.NowNs());
                ev.Set();
                Volatile.Write(ref setDone, RtClock.NowNs());
            }
        });
        setter.Start();
        await waiter;
        Volatile.Write(ref stop, 1);
        await hog;
        setter.Join();
        Console.WriteLine($"preempt, K = {k / 1000} µs, BalanceTick {tickMs} ms, {N} samples (µs):");
        foreach ((string name, long[] xs) in new[] { ("stamp → running", total), ("stamp → Set returned", wakerSide), ("Set returned → running", cpuSide) })
        {
            Array.Sort(xs);
            double P(double q) => xs[(int)(q * (N - 1))] / 1000.0;
            Console.WriteLine($"  {name,-24} p50 {P(0.5):F2}  p90 {P(0.9):F2}  p98 {P(0.98):F2}  p99 {P(0.99):F2}  p99.9 {P(0.999):F2}");
        }

        break;
    }

    case "gaps":
    {
        static (int Count, long Ns) SpinAndCountGaps(long ns)
        {
            long last = RtClock.NowNs(), end = last + ns, sum = 0;
            int gaps = 0;
            while (last < end)
            {
                long t = RtClock.NowNs();
                if (t - last > 20_000)
                {
                    gaps++;
                    sum += t - last;
                }

                last = t;
            }

            return (gaps, sum);
        }

        int stop = 0;
        var other = new Thread(() =>
        {
            ulong core1 = 2;
            _ = SchedSetAffinity(0, sizeof(ulong), ref core1);
            while (Volatile.Read(ref stop) == 0)
            {
            }
        });
        other.Start();
        await using var rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1, Cores = [0] });
        Console.WriteLine("gaps > 20 µs in a spinning loop on core 0, 2 s each (count, total µs, mean µs):");
        for (int r = 0; r < 4; r++)
        {
            (int Count, long Ns) bare = default, task = default;
            var t = new Thread(() =>
            {
                ulong core0 = 1;
                _ = SchedSetAffinity(0, sizeof(ulong), ref core0);
                bare = SpinAndCountGaps(2_000_000_000);
            });
            t.Start();
            t.Join();
            await rt.Spawn("spin", 1, ctx =>
            {
                task = SpinAndCountGaps(2_000_000_000);
                return ValueTask.CompletedTask;
            });
            Console.WriteLine($"  bare thread {bare.Count} ({bare.Ns / 1000} µs, {bare.Ns / 1000.0 / Math.Max(1, bare.Count):F1})   task on rt/cpu0 {task.Count} ({task.Ns / 1000} µs, {task.Ns / 1000.0 / Math.Max(1, task.Count):F1})");
        }

        Volatile.Write(ref stop, 1);
        other.Join();
        break;
    }

    case "lead":
    {
        int work = args.Length > 1 ? int.Parse(args[1]) : 100;
        var leads = args.Length > 2
            ? args[2].Split(',').Select(us => (TimeSpan.FromMicroseconds(int.Parse(us, CultureInfo.InvariantCulture)), true)).ToArray()
            : new[] { (TimeSpan.Zero, false), (TimeSpan.FromMicroseconds(200), false), (TimeSpan.FromMicroseconds(200), true) };
        for (int r = 0; r < 5; r++)
        {
            foreach ((TimeSpan lead, bool anticipate) in leads)
            {
                await using var rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 2, TimerLead = lead, AnticipateTimers = anticipate });
                long end = RtClock.NowNs() + 2_000_000_000;
                RtTask periodic = rt.Spawn("periodic", 90, async ctx =>
                {
                    for (long next = RtClock.NowNs() + 1_000_000; next < end; next += 1_000_000)
                    {
                        await ctx.SleepUntil(next);
                    }
                }, affinity: CpuSet.Of(0));
                double perSecond = await rt.Spawn<double>("hog", 10, async ctx =>
                {
                    long start = RtClock.NowNs(), points = 0;
                    while (RtClock.NowNs() < end)
                    {
                        for (int k = 0; k < 1000; k++)
                        {
                            double x = 1; // ~work ns of arithmetic between points (no clock read)
                            for (int j = 0; j < work / 2; j++)
                            {
                                x = (x * 1.0000001) + 1e-9;
                            }

                            if (x < 0)
                            {
                                Console.WriteLine(x);
                            }

                            await ctx.PreemptionPoint();
                            points++;
                        }
                    }

                    return points / ((RtClock.NowNs() - start) / 1e9);
                }, affinity: CpuSet.Of(0));
                await periodic;
                CpuSnapshot cpu0 = rt.Snapshot().Cpus[0];
                Console.WriteLine($"  round {r} TimerLead {lead.TotalMicroseconds,3} µs, AnticipateTimers {anticipate,-5}: {perSecond / 1e6:F3} M points/s; {cpu0.TimerSpins} spins, {cpu0.TimerSpin.TotalMilliseconds:F1} ms spinning");
            }
        }

        break;
    }

    case "dying":
    {
        // An offline waiting 2 s for a pinned sleeper, against the same runtime idle for 2 s (same process, × 3).
        for (int r = 0; r < 3; r++)
        {
            await using var rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 2, Pinning = PinningMode.Unpinned });
            var wake = new RtEvent();
            RtTask sleeper = rt.Spawn("pinned-sleeper", 10, async ctx =>
            {
                using (ctx.MigrateDisable())
                {
                    await wake.WaitAsync(ctx);
                }
            }, affinity: CpuSet.Of(1));
            while (rt.NrPinned(1) != 1 || sleeper.State != RtTaskState.Blocked)
            {
                await Task.Delay(1);
            }

            var proc = Process.GetCurrentProcess();
            TimeSpan cpuBefore = proc.TotalProcessorTime;
            await Task.Delay(2000);
            proc.Refresh();
            double idleMs = (proc.TotalProcessorTime - cpuBefore).TotalMilliseconds;

            long allocated = GC.GetTotalAllocatedBytes(true);
            int gen0 = GC.CollectionCount(0);
            Task offline = rt.OfflineAsync(1);
            proc.Refresh();
            cpuBefore = proc.TotalProcessorTime;
            await Task.Delay(2000);
            proc.Refresh();
            double dyingMs = (proc.TotalProcessorTime - cpuBefore).TotalMilliseconds;
            double mb = (GC.GetTotalAllocatedBytes(true) - allocated) / 1048576.0;
            int gcs = GC.CollectionCount(0) - gen0;
            wake.Set();
            await offline;
            await sleeper;
            Console.WriteLine($"  round {r}: process CPU time over 2 s idle {idleMs:F0} ms, offline waiting on the pinned sleeper {dyingMs:F0} ms ({mb:F1} MB allocated, {gcs} gen0 GCs)");
        }

        break;
    }

    case "cancel":
    {
        // Cancelling sleepers one by one: n tasks asleep on CPU 0 with distinct deadlines (an hour
        // away), cancelled newest first by handle; ms for all n to end, and per cancel. × 3 per n.
        foreach (int n in new[] { 10_000, 20_000, 40_000, 80_000 })
        {
            for (int r = 0; r < 3; r++)
            {
                await using var rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 2 });
                long baseNs = RtClock.NowNs() + 3_600_000_000_000L;
                int asleep = 0, ended = 0;
                var handles = new RtTask[n];
                for (int i = 0; i < n; i++)
                {
                    long deadline = baseNs + (i * 1000L);
                    handles[i] = rt.Spawn(null, 50, async ctx =>
                    {
                        Interlocked.Increment(ref asleep);
                        try
                        {
                            await ctx.SleepUntil(deadline);
                        }
                        finally
                        {
                            Interlocked.Increment(ref ended);
                        }
                    }, affinity: CpuSet.Of(0));
                }

                while (Volatile.Read(ref asleep) < n || handles[n - 1].State != RtTaskState.Blocked)
                {
                    await Task.Delay(1);
                }

                var sw = Stopwatch.StartNew();
                for (int i = n - 1; i >= 0; i--)
                {
                    handles[i].Cancel();
                }

                double cancelMs = sw.Elapsed.TotalMilliseconds;
                while (Volatile.Read(ref ended) < n)
                {
                    Thread.SpinWait(100);
                }

                double ms = sw.Elapsed.TotalMilliseconds;
                Console.Write($"  (Cancel() calls {cancelMs:F1} ms)");
                Console.WriteLine($"  n {n,6} round {r}: all cancelled sleepers ended in {ms,8:F1} ms ({ms * 1e6 / n,8:F0} ns per cancel)");
            }
        }

        break;
    }

    case "waiters":
    {
        // Many waiters on one RtEvent (a wait queue in priority order): n tasks of one priority block
        // on it, on CPU 0, then one Set() wakes them all; ms until all are blocked, and until all ended.
        foreach (int n in new[] { 5_000, 10_000, 20_000, 40_000 })
        {
            await using var rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 2 });
            var gate = new RtEvent();
            int ended = 0;
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < n; i++)
            {
                rt.Spawn(null, 50, async ctx =>
                {
                    await gate.WaitAsync(ctx);
                    Interlocked.Increment(ref ended);
                }, affinity: CpuSet.Of(0));
            }

            while (gate.WaiterCount < n)
            {
                await Task.Delay(1);
            }

            double blockedMs = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            gate.Set();
            while (Volatile.Read(ref ended) < n)
            {
                await Task.Delay(1);
            }

            Console.WriteLine($"  n {n,6}: all blocked in {blockedMs,8:F1} ms ({blockedMs * 1e6 / n,8:F0} ns per waiter), all woken and ended in {sw.Elapsed.TotalMilliseconds,8:F1} ms");
        }

        break;
    }

    case "mixwaiters":
    {
        // WaiterList.Insert with two priorities: n/2 tasks of priority 10 block on one RtEvent (CPU 0),
        // then n/2 of priority 20 (or 10 again: the control). Each priority-20 waiter after the first
        // walks back from the tail over every priority-10 waiter under the event's gate.
        foreach (int n in new[] { 10_000, 20_000, 40_000, 80_000 })
        {
            foreach (int second in new[] { 10, 20 })
            {
                await using var rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 2 });
                var gate = new RtEvent();
                int ended = 0;
                for (int i = 0; i < n / 2; i++)
                {
                    rt.Spawn(null, 10, async ctx => { await gate.WaitAsync(ctx); Interlocked.Increment(ref ended); }, affinity: CpuSet.Of(0));
                }

                while (gate.WaiterCount < n / 2)
                {
                    await Task.Delay(1);
                }

                var sw = Stopwatch.StartNew();
                for (int i = 0; i < n / 2; i++)
                {
                    rt.Spawn(null, second, async ctx => { await gate.WaitAsync(ctx); Interlocked.Increment(ref ended); }, affinity: CpuSet.Of(0));
                }

                while (gate.WaiterCount < n)
                {
                    Thread.SpinWait(50);
                }

                double ms = sw.Elapsed.TotalMilliseconds;
                gate.Set();
                while (Volatile.Read(ref ended) < n)
                {
                    await Task.Delay(1);
                }

                Console.WriteLine($"  n {n,6} (second half at prio {second}): second half blocked in {ms,9:F1} ms ({ms * 1e6 / (n / 2),9:F0} ns per waiter)");
            }
        }

        break;
    }

    case "pullscan":
    {
        // An idle CPU's pull walks a whole priority list of another CPU's queue under both run-queue
        // locks, skipping tasks that cannot move, and an idle CPU that fails to pull does not park
        // (HasPullable ignores affinity), so it walks again at once. 3 CPUs, cpu2 taken offline:
        // cpu0 runs a prio-50 task that spins on preemption points and yields every 20 µs (a yield takes cpu0's lock), with n prio-10
        // tasks affine to cpu0 alone queued behind it and (unless "control") one prio-10 task allowed
        // on {0,2} at the tail (pushable, but not onto cpu1); cpu1 is otherwise idle.
        // Reported: cpu1's thread CPU time over 1 s, and how long cpu0's yields (one every 20 µs of busy work) took.
        foreach (int n in new[] { 10_000, 20_000, 40_000, 80_000 })
        {
            foreach (bool control in new[] { true, false })
            {
                await using var rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 3 });
                await rt.OfflineAsync(2);
                bool measuring = false, done = false;
                long yields = 0, worstNs = 0, totalNs = 0;
                rt.Spawn("hog0", 50, async ctx =>
                {
                    while (!Volatile.Read(ref done))
                    {
                        long until = RtClock.NowNs() + 20_000;
                        while (RtClock.NowNs() < until)
                        {
                            await ctx.PreemptionPoint(); // cpu0 stays busy at 50: its RunningPrio never drops
                        }

                        long t0 = RtClock.NowNs();
                        await ctx.Yield(); // takes cpu0's lock once
                        long took = RtClock.NowNs() - t0;
                        if (Volatile.Read(ref measuring))
                        {
                            yields++;
                            totalNs += took;
                            worstNs = Math.Max(worstNs, took);
                        }
                    }
                }, affinity: CpuSet.Of(0));
                for (int i = 0; i < n; i++)
                {
                    rt.Spawn(null, 10, _ => ValueTask.CompletedTask, affinity: CpuSet.Of(0));
                }

                if (!control)
                {
                    rt.Spawn("pushable", 10, _ => ValueTask.CompletedTask, affinity: CpuSet.Of(0, 2));
                }

                await Task.Delay(500); // every spawn queued on cpu0
                rt.Spawn("kick1", 1, _ => ValueTask.CompletedTask, affinity: CpuSet.Of(1)); // cpu1 leaves idle once (as any work there would make it)
                await Task.Delay(100);
                int queued0 = rt.Snapshot().Cpus[0].Queue.Count;
                long cpu1Before = ThreadCpuNs("rt/cpu1"), balBefore = ThreadCpuNs("rt/balance");
                Volatile.Write(ref measuring, true);
                await Task.Delay(1000);
                Volatile.Write(ref measuring, false);
                long cpu1Ms = (ThreadCpuNs("rt/cpu1") - cpu1Before) / 1_000_000, balMs = (ThreadCpuNs("rt/balance") - balBefore) / 1_000_000;
                await Task.Delay(10);
                Volatile.Write(ref done, true);
                Console.WriteLine($"  n {n,6} {(control ? "control (no pushable task)  " : "one pushable task at tail   ")}: cpu0 queue {queued0,6}; CPU time over 1 s: rt/cpu1 {cpu1Ms,4} ms, rt/balance {balMs,4} ms; cpu0 yield every 20 µs: {yields,6} yields, mean {(yields == 0 ? 0 : totalNs / yields),7} ns, worst {worstNs / 1000,6} µs");
            }
        }

        break;
    }

    case "observe":
    {
        // Observability's cost in one process, interleaved (BenchmarkDotNet runs each setting in its own
        // process, whose code layout alone moves a 60 ns switch by a few %): same-CPU yields and
        // spawn-and-run on one CPU with no listener, with a MeterListener enabling every "RtRuntime"
        // instrument, and with that plus an EventListener at Informational; 100 rounds (the order rotating), medians.
        // This thread (the spawner) on core 1, the runtime's one CPU on core 0: left to the OS, the
        // spawner sometimes shares core 0 with it, and spawn-and-run swings ±40 % between rounds.
        ulong spawnerCore = 2;
        if (SchedSetAffinity(0, sizeof(ulong), ref spawnerCore) != 0)
        {
            throw new InvalidOperationException("sched_setaffinity(core 1) failed");
        }

        await using var rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1 });
        const int yields = 200_000, spawns = 20_000;
        var handles = new RtTask[spawns];
        double Yield()
        {
            var sw = Stopwatch.StartNew();
            RtTask a = rt.Spawn("a", 20, async ctx => { for (int i = 0; i < yields; i++) { await ctx.Yield(); } });
            RtTask b = rt.Spawn("b", 20, async ctx => { for (int i = 0; i < yields; i++) { await ctx.Yield(); } });
            a.AsTask().GetAwaiter().GetResult();
            b.AsTask().GetAwaiter().GetResult();
            return sw.Elapsed.TotalNanoseconds / (2.0 * yields);
        }

        double Spawn()
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < spawns; i++)
            {
                handles[i] = rt.Spawn(null, 10, static async ctx => await default(ValueTask));
            }

            foreach (RtTask t in handles)
            {
                SpinWait spin = default;
                while (!t.IsCompleted)
                {
                    spin.SpinOnce();
                }
            }

            return sw.Elapsed.TotalNanoseconds / spawns;
        }

        string[] settings = ["off", "metrics", "metrics+events"];
        var results = settings.ToDictionary(x => x, _ => (Yield: new List<double>(), Spawn: new List<double>()));
        for (int r = -5; r < 100; r++)
        {
            for (int k = 0; k < settings.Length; k++)
            {
                string setting = settings[(k + r + 5) % settings.Length]; // each setting in each place of the round in turn
                using var meters = setting == "off" ? null : new System.Diagnostics.Metrics.MeterListener
                {
                    InstrumentPublished = (i, l) =>
                    {
                        if (i.Meter.Name == "RtRuntime")
                        {
                            l.EnableMeasurementEvents(i);
                        }
                    },
                };
                meters?.SetMeasurementEventCallback<double>(static (_, _, _, _) => { });
                meters?.SetMeasurementEventCallback<long>(static (_, _, _, _) => { });
                meters?.Start();
                using var events = setting == "metrics+events" ? new InformationalListener() : null;
                double y = Yield(), sp = Spawn();
                if (r >= 0)
                {
                    results[setting].Yield.Add(y);
                    results[setting].Spawn.Add(sp);
                }
            }
        }

        static double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);
        double yieldOff = Median(results["off"].Yield), spawnOff = Median(results["off"].Spawn);
        foreach (string setting in settings)
        {
            double y = Median(results[setting].Yield), sp = Median(results[setting].Spawn);
            Console.WriteLine($"  {setting,-15} yield {y,6:F1} ns ({(y / yieldOff - 1) * 100,5:+0.0;-0.0} %)   spawn-and-run {sp,6:F1} ns ({(sp / spawnOff - 1) * 100,5:+0.0;-0.0} %)");
        }

        break;
    }

    case "switch":
    {
        // One process's same-CPU yield switch, with the instrumentation switch off when args[1] is
        // "compiled-out" (set before the runtime's first use). Run it alternately, in a shell loop,
        // against "off": the difference is what the disabled instrument sites cost.
        if (args.Length > 1 && args[1] == "compiled-out")
        {
            AppContext.SetSwitch("RtRuntime.Instrumentation.IsSupported", false);
        }

        await using var rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1 });
        const int yields = 200_000;
        var rounds = new List<double>();
        for (int r = -10; r < 40; r++)
        {
            var sw = Stopwatch.StartNew();
            RtTask a = rt.Spawn("a", 20, async ctx => { for (int i = 0; i < yields; i++) { await ctx.Yield(); } });
            RtTask b = rt.Spawn("b", 20, async ctx => { for (int i = 0; i < yields; i++) { await ctx.Yield(); } });
            await a;
            await b;
            if (r >= 0)
            {
                rounds.Add(sw.Elapsed.TotalNanoseconds / (2.0 * yields));
            }
        }

        rounds.Sort();
        Console.WriteLine($"  {(args.Length > 1 ? args[1] : "off"),-12} yield median {rounds[rounds.Count / 2]:F2} ns (min {rounds[0]:F2})");
        break;
    }

    case "gcpause":
    {
        // What a spawn's allocation costs the latency of other tasks: a FIFO-90 task on CPU 0 wakes every
        // 200 µs on an absolute schedule and records how late it ran, while a thread on core 1 spawns empty
        // tasks affine to CPU 1 as fast as they run (at most 4,096 in flight), for 2 s per round, with
        // Spawn and with RunAsync in turn (4 rounds each after one of each to warm up). Every GC
        // suspends every managed thread, the runtime's CPU threads included: the GCs a round caused and
        // their pause time are reported beside the periodic task's latency.
        await using var rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 2 });
        CpuSet cpu1 = CpuSet.Of(1);
        const long PeriodNs = 200_000;
        var results = new Dictionary<string, List<(double P99, double P999, double Max, int Gcs, double PauseMs, long Spawned)>> { ["Spawn"] = [], ["RunAsync"] = [] };
        for (int round = -1; round < 4; round++)
        {
            foreach (string variant in results.Keys)
            {
                var lateNs = new List<long>(20_000);
                bool stop = false;
                RtTask periodic = rt.Spawn("periodic", 90, async ctx =>
                {
                    long next = RtClock.NowNs() + PeriodNs;
                    while (!Volatile.Read(ref stop))
                    {
                        await ctx.SleepUntil(next);
                        lateNs.Add(RtClock.NowNs() - next);
                        next += PeriodNs;
                    }
                }, affinity: CpuSet.Of(0));
                int gc0 = GC.CollectionCount(0);
                TimeSpan pause0 = GC.GetTotalPauseDuration();
                long spawned = 0;
                Volatile.Write(ref BurstCounter.Done, 0);
                var spawner = new Thread(() =>
                {
                    // On core 1, with CPU 1's thread: CPU 0's core is left to the periodic task.
                    ulong core1 = 2;
                    if (SchedSetAffinity(0, sizeof(ulong), ref core1) != 0)
                    {
                        throw new InvalidOperationException("sched_setaffinity to core 1 failed");
                    }

                    var sw = Stopwatch.StartNew();
                    while (sw.Elapsed < TimeSpan.FromSeconds(2))
                    {
                        if (spawned - Volatile.Read(ref BurstCounter.Done) >= 4_096)
                        {
                            Thread.SpinWait(20);
                            continue;
                        }

                        Func<TaskContext, ValueTask> body = static _ =>
                        {
                            Interlocked.Increment(ref BurstCounter.Done);
                            return ValueTask.CompletedTask;
                        };
                        if (variant == "Spawn")
                        {
                            rt.Spawn(null, 10, body, affinity: cpu1);
                        }
                        else
                        {
                            _ = rt.RunAsync(null, 10, body, affinity: cpu1);
                        }

                        spawned++;
                    }
                });
                spawner.Start();
                spawner.Join();
                Volatile.Write(ref stop, true);
                await periodic;
                int gcs = GC.CollectionCount(0) - gc0;
                double pauseMs = (GC.GetTotalPauseDuration() - pause0).TotalMilliseconds;
                while (Volatile.Read(ref BurstCounter.Done) < spawned)
                {
                    Thread.SpinWait(20);
                }

                if (round >= 0)
                {
                    lateNs.Sort();
                    results[variant].Add((lateNs[(int)(lateNs.Count * 0.99)] / 1000.0, lateNs[(int)(lateNs.Count * 0.999)] / 1000.0, lateNs[^1] / 1000.0, gcs, pauseMs, spawned));
                }
            }
        }

        Console.WriteLine("periodic task (FIFO 90, 200 µs, CPU 0) while a thread on core 1 spawns empty tasks on CPU 1, 2 s per round (µs late):");
        foreach ((string variant, var rs) in results)
        {
            foreach (var r in rs)
            {
                Console.WriteLine($"  {variant,-8} p99 {r.P99,7:F1}  p99.9 {r.P999,7:F1}  max {r.Max,8:F1}   {r.Gcs,4} GCs, {r.PauseMs,6:F1} ms paused, {r.Spawned / 2e6:F2} M spawns/s");
            }
        }

        break;
    }

    case "cputime":
    {
        await using var rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1 });
        await using var nonRt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1, Model = PreemptionModel.NonRt });
        var counter = new RtRuntime.PerCpu.PerCpuCounter(rt);
        var rtLock = new RtRuntime.PerCpu.LocalLock(rt);
        var nonRtLock = new RtRuntime.PerCpu.LocalLock(nonRt);
        const int Iterations = 1_000_000;
        long ns = 0;
        int sink = 0;
        Func<TaskContext, ValueTask> Timed(Func<TaskContext, int> loop) => ctx =>
        {
            long t0 = OwnThreadCpuNs();
            sink += loop(ctx);
            ns = OwnThreadCpuNs() - t0;
            return ValueTask.CompletedTask;
        };

        // Static loops with their sum in a local, as in PreemptionPointBenchmarks (a captured local would
        // live in a closure on the heap and be measured too).
        static int EmptyLoop(TaskContext ctx)
        {
            int sum = 0;
            for (int i = 0; i < Iterations; i++)
            {
                sum += i;
            }

            return sum;
        }

        static int MigrateLoop(TaskContext ctx)
        {
            int sum = 0;
            for (int i = 0; i < Iterations; i++)
            {
                using (ctx.MigrateDisable())
                {
                    sum += i;
                }
            }

            return sum;
        }

        static int PreemptLoop(TaskContext ctx)
        {
            int sum = 0;
            for (int i = 0; i < Iterations; i++)
            {
                using (ctx.PreemptDisable())
                {
                    sum += i;
                }
            }

            return sum;
        }

        int CounterLoop(TaskContext ctx)
        {
            for (int i = 0; i < Iterations; i++)
            {
                counter.Increment(ctx);
            }

            return 0;
        }

        static int TryLockLoop(RtRuntime.PerCpu.LocalLock ll, TaskContext ctx)
        {
            int sum = 0;
            for (int i = 0; i < Iterations; i++)
            {
                if (ll.TryLock(ctx, out RtRuntime.PerCpu.LocalLockGuard guard))
                {
                    sum += i;
                    guard.Dispose();
                }
            }

            return sum;
        }

        var loops = new (string Name, RtScheduler Runtime, Func<TaskContext, ValueTask> Body)[]
        {
            ("empty loop", rt, Timed(EmptyLoop)),
            ("migrate guard pair", rt, Timed(MigrateLoop)),
            ("preempt guard pair", rt, Timed(PreemptLoop)),
            ("PerCpuCounter add", rt, Timed(CounterLoop)),
            ("Rt TryLock pair", rt, Timed(ctx => TryLockLoop(rtLock, ctx))),
            ("NonRt TryLock pair", nonRt, Timed(ctx => TryLockLoop(nonRtLock, ctx))),
        };
        for (int w = 0; w < 60; w++)
        {
            foreach (var (_, runtime, body) in loops)
            {
                await runtime.Spawn("warm", 50, body);
            }

            if (w % 10 == 0)
            {
                Thread.Sleep(250); // past the tiering delay
            }
        }

        for (int row = 0; row < 5; row++)
        {
            var line = new List<string>();
            foreach (var (name, runtime, body) in loops)
            {
                long total = 0;
                for (int k = 0; k < 20; k++)
                {
                    await runtime.Spawn("timed", 50, body);
                    total += ns;
                }

                line.Add($"{name} {total / (20.0 * Iterations):F3} ns");
            }

            Console.WriteLine(string.Join("  ", line) + $"  (sink {sink & 1})");
        }

        break;
    }

    default:
        Console.Error.WriteLine("mode: spawn | affine | burst | split | pingpong | samecpu | cpu | early | timercore | timerrow | line | preempt | gaps | lead | dying | observe | switch | gcpause | cputime");
        return 2;
}

return 0;

[System.Runtime.InteropServices.DllImport("libc", EntryPoint = "sched_setaffinity")]
static extern int SchedSetAffinity(int pid, nint size, ref ulong mask);

[System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
static extern unsafe int ClockGetTime(int clock, long* timespec);

// The calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID), ns.
static unsafe long OwnThreadCpuNs()
{
    long* ts = stackalloc long[2];
    _ = ClockGetTime(3, ts);
    return (ts[0] * 1_000_000_000) + ts[1];
}

[System.Runtime.InteropServices.DllImport("libc", EntryPoint = "getrusage")]
static extern unsafe int GetRusage(int who, long* usage);

// perf/compare's cyclictest loop (RtLoops.PeriodicAsync): sleep to absolute deadlines every periodNs and
// record how late each wake was, after 50 discarded warm-up wakes; missed periods are skipped.
static async ValueTask PeriodicLateness(TaskContext ctx, List<long> late, long periodNs, int samples)
{
    long next = RtClock.NowNs() + periodNs;
    for (int i = -50; i < samples; i++)
    {
        await ctx.SleepUntil(next);
        long now = RtClock.NowNs();
        if (i >= 0)
        {
            late.Add(now - next);
        }

        next += periodNs;
        while (next <= now)
        {
            next += periodNs;
        }
    }
}

// The OS thread id of this process's thread named <name>, or 0.
static int ThreadId(string name) =>
    Directory.GetDirectories("/proc/self/task").Where(d => File.ReadAllText(Path.Combine(d, "comm")).Trim() == name)
        .Select(d => int.Parse(Path.GetFileName(d), CultureInfo.InvariantCulture)).FirstOrDefault();

// A thread's voluntary context switches (its sleeps) so far.
static long VoluntarySwitches(int tid) =>
    long.Parse(File.ReadLines($"/proc/self/task/{tid}/status").Single(l => l.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal)).Split(':')[1], CultureInfo.InvariantCulture);

// The process's minor page faults so far (struct rusage: two timevals, then ru_maxrss … ru_minflt).
static long ThreadCpuNs(string name)
{
    foreach (string dir in Directory.GetDirectories("/proc/self/task"))
    {
        try
        {
            if (File.ReadAllText(Path.Combine(dir, "comm")).Trim() != name)
            {
                continue;
            }

            return long.Parse(File.ReadAllText(Path.Combine(dir, "schedstat")).Split(' ')[0]); // ns on CPU
        }
        catch (IOException)
        {
        }
    }

    return -1;
}

static async Task<double> LineRoundTripNs(RtScheduler rt, int rounds)
{
    var box = new long[32]; // the word at index 16 has its cache line to itself
    RtTask pong = rt.Spawn("pong", 50, ctx =>
    {
        for (long i = 0; i < rounds; i++)
        {
            while (Volatile.Read(ref box[16]) != 2 * i + 1)
            {
            }

            Volatile.Write(ref box[16], 2 * i + 2);
        }

        return ValueTask.CompletedTask;
    }, SchedPolicy.Fifo, CpuSet.Of(1));
    long elapsed = await rt.Spawn<long>("ping", 50, ctx =>
    {
        long t0 = Stopwatch.GetTimestamp();
        for (long i = 0; i < rounds; i++)
        {
            Volatile.Write(ref box[16], 2 * i + 1);
            while (Volatile.Read(ref box[16]) != 2 * i + 2)
            {
            }
        }

        return ValueTask.FromResult(Stopwatch.GetTimestamp() - t0);
    }, SchedPolicy.Fifo, CpuSet.Of(0));
    await pong;
    return elapsed * 1e9 / Stopwatch.Frequency / rounds;
}

static async Task<double> PingPongRoundTripNs(RtScheduler rt, int rounds, bool sameCpu = false)
{
    var toA = new RtEvent(autoReset: true);
    var toB = new RtEvent(autoReset: true);
    RtTask b = rt.Spawn("pong", 50, async ctx =>
    {
        for (int i = 0; i < rounds; i++)
        {
            await toB.WaitAsync(ctx);
            toA.Set();
        }
    }, SchedPolicy.Fifo, CpuSet.Of(sameCpu ? 0 : 1));
    long elapsed = await rt.Spawn<long>("ping", 50, async ctx =>
    {
        long t0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < rounds; i++)
        {
            toB.Set();
            await toA.WaitAsync(ctx);
        }

        return Stopwatch.GetTimestamp() - t0;
    }, SchedPolicy.Fifo, CpuSet.Of(0));
    await b;
    return elapsed * 1e9 / Stopwatch.Frequency / rounds;
}

static unsafe long MinorFaults()
{
    long* usage = stackalloc long[18];
    _ = GetRusage(0, usage);
    return usage[8];
}

internal static class BurstCounter
{
    public static int Done;
}

sealed class InformationalListener : System.Diagnostics.Tracing.EventListener
{
    protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource eventSource)
    {
        if (eventSource.Name == "RtRuntime")
        {
            EnableEvents(eventSource, System.Diagnostics.Tracing.EventLevel.Informational);
        }
    }

    protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs eventData)
    {
    }
}
