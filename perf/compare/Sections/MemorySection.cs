using System.Diagnostics;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Compare.Sections;

/// <summary>6. Memory: bytes per spawned task and per sleeping task; a million tasks spawned and completed; 100k asleep at once.</summary>
internal static class MemorySection
{
    public const string Title = "6. Memory";

    private static readonly Func<TaskContext, ValueTask> s_empty = static _ =>
    {
        Interlocked.Increment(ref s_done);
        return ValueTask.CompletedTask;
    };

    private static readonly Func<TaskContext, ValueTask> s_sleeper = SleeperAsync;
    private static readonly Action s_emptyAction = static () => Interlocked.Increment(ref s_done);

    private static int s_done;
    private static int s_asleep;

    // The .NET baseline's own counters: it must not move s_done, which the sleepers' cancellation check counts.
    private static int s_dotNetDone;
    private static int s_dotNetAsleep;
    private static long s_wakeAt;

    public static async Task RunAsync(CompareSettings s, Report report, TextWriter log)
    {
        var sec = new Section(Title);
        report.Sections.Add(sec);
        log.WriteLine("[6] memory");
        var t = new Table("Memory", "measurement", "RtRuntime", "`Task.Run` (same work)", "how");

        await using RtScheduler rt = RtScheduler.Start(new RtSchedulerOptions());

        // Bytes per spawned-and-completed task (empty synchronous body: every byte is the runtime's).
        int m = s.SpawnCount;
        SpawnAndDrain(rt, Math.Min(m, 10_000));
        (double perTask, double spawnSide) = Allocated(() => SpawnAndDrain(rt, m), m);
        (double perTaskRun, double taskRunSide) = Allocated(() => TaskRunAndDrain(m), m);
        log.WriteLine($"  bytes per spawned task: {Fmt.Num(perTask)} (spawning thread {Fmt.Num(spawnSide)})");
        t.Add("bytes allocated per spawned and completed task (all threads)", Fmt.Num(perTask), Fmt.Num(perTaskRun), $"`GC.GetTotalAllocatedBytes(precise: true)` around {Fmt.Int(m)} spawns of an empty synchronous body, until all ran");
        t.Add("… of which on the spawning thread", Fmt.Num(spawnSide), Fmt.Num(taskRunSide), "`GC.GetAllocatedBytesForCurrentThread()`");
        report.Targets.Add(new TargetRow("≤ 256 bytes of runtime overhead per task (a spawned task)", $"{Fmt.Num(perTask)} B allocated per spawned task", Fmt.Ratio(perTask / 256), perTask <= 256));

        // The same through RunAsync, after the same warm-up: its task objects come from the runtime's cache.
        RunAsyncAndDrain(rt, Math.Min(m, 10_000));
        (double perRunAsync, double runAsyncSide) = Allocated(() => RunAsyncAndDrain(rt, m), m);
        log.WriteLine($"  bytes per RunAsync task: {Fmt.Num(perRunAsync)} (spawning thread {Fmt.Num(runAsyncSide)})");
        t.Add("bytes allocated per task through `RunAsync` (task objects from the runtime's cache; all threads)", Fmt.Num(perRunAsync), Fmt.Num(perTaskRun), $"the same, around {Fmt.Int(m)} `RunAsync` calls after {Fmt.Int(Math.Min(m, 10_000))} to warm the cache (objects beyond what the cache held are allocated)");

        // A million tasks spawned and completed.
        int million = s.MillionTasks;
        long wsBefore = Environment.WorkingSet;
        var sw = Stopwatch.StartNew();
        long peakWs = wsBefore;
        Volatile.Write(ref s_done, 0);
        for (int i = 0; i < million; i++)
        {
            _ = rt.Spawn(null, 50, s_empty);
            if ((i & 0xFFFF) == 0)
            {
                peakWs = Math.Max(peakWs, Environment.WorkingSet);
            }
        }

        bool allDone = SpinUntil(() => Volatile.Read(ref s_done) >= million, TimeSpan.FromMinutes(2));
        sw.Stop();
        peakWs = Math.Max(peakWs, Environment.WorkingSet);
        log.WriteLine($"  {million} tasks: completed={allDone} in {sw.Elapsed.TotalSeconds:0.00} s");
        t.Add($"{Fmt.Int(million)} tasks spawned back to back and completed", allDone ? $"all {Fmt.Int(Volatile.Read(ref s_done))} completed in {Fmt.Num(sw.Elapsed.TotalMilliseconds)} ms" : $"**only {Fmt.Int(Volatile.Read(ref s_done))} completed**", "n/a",
            $"working set {Fmt.Num(wsBefore / 1048576.0)} MB before, sampled peak {Fmt.Num(peakWs / 1048576.0)} MB");
        report.Targets.Add(new TargetRow($"{Fmt.Int(million)} spawned tasks complete", allDone ? $"all completed in {Fmt.Num(sw.Elapsed.TotalSeconds)} s" : $"{Fmt.Int(Volatile.Read(ref s_done))} completed", "n/a", allDone));

        // Sleeping tasks: retained bytes per task against the same-shaped .NET async method, and the
        // working set with 100k asleep. The handles' array is allocated before the baseline, and the
        // sleepers take no cancellation token (a token's registration is the caller's choice and cost).
        int k = s.SleepingTasks;
        var handles = new RtTask[k];
        var pending = new Task[k];
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        long allocBefore = GC.GetTotalAllocatedBytes(precise: true);
        wsBefore = Environment.WorkingSet;
        Volatile.Write(ref s_done, 0);
        Volatile.Write(ref s_asleep, 0);
        Volatile.Write(ref s_wakeAt, RtClock.NowNs() + RtClock.ToNs(TimeSpan.FromHours(1)));
        for (int i = 0; i < k; i++)
        {
            handles[i] = rt.Spawn(null, 50, s_sleeper, SchedPolicy.Fifo);
        }

        bool allAsleep = SpinUntil(() => Volatile.Read(ref s_asleep) >= k, TimeSpan.FromMinutes(1));
        await Task.Delay(50);
        long allocAfter = GC.GetTotalAllocatedBytes(precise: true);
        long heapAfter = GC.GetTotalMemory(forceFullCollection: true);
        long wsAfter = Environment.WorkingSet;
        double retained = (heapAfter - heapBefore) / (double)k;
        double allocated = (allocAfter - allocBefore) / (double)k;
        log.WriteLine($"  {k} asleep: {Fmt.Num(retained)} B retained per task, working set {Fmt.Signed((wsAfter - wsBefore) / 1048576.0)} MB");
        var tcs = new TaskCompletionSource();
        long baseHeap = GC.GetTotalMemory(forceFullCollection: true);
        for (int i = 0; i < k; i++)
        {
            pending[i] = DotNetSleeperAsync(tcs.Task);
        }

        double dotNetRetained = (GC.GetTotalMemory(forceFullCollection: true) - baseHeap) / (double)k;
        tcs.SetResult();
        await Task.WhenAll(pending);

        double overhead = retained - dotNetRetained;
        t.Add("heap bytes retained per sleeping task", Fmt.Num(retained), Fmt.Num(dotNetRetained),
            $"`GC.GetTotalMemory(true)` before and with {Fmt.Int(k)} tasks in `await ctx.SleepUntil(now + 1 h)` (RtRuntime) / the same body as an `async` method awaiting an incomplete Task (.NET); both include the body's async state machine");
        t.Add("… the runtime's own: RtRuntime − .NET", Fmt.Num(overhead), "n/a",
            "the task object and the timer queue's slot (a sleep suspends through a ValueTask source, so the body's state machine needs no continuation delegate)");
        t.Add("bytes allocated per sleeping task", Fmt.Num(allocated), "n/a", "`GC.GetTotalAllocatedBytes(precise: true)` around spawning them");
        t.Add($"{Fmt.Int(k)} tasks asleep at once", allAsleep ? "all asleep" : $"**only {Fmt.Int(Volatile.Read(ref s_asleep))} asleep**", "n/a",
            $"working set {Fmt.Num(wsBefore / 1048576.0)} MB → {Fmt.Num(wsAfter / 1048576.0)} MB ({Fmt.Signed((wsAfter - wsBefore) / 1048576.0)} MB: the GC reuses pages the steps before it committed, so this is not a per-task figure)");
        foreach (RtTask h in handles)
        {
            h.Cancel();
        }

        bool allCancelled = SpinUntil(() => Volatile.Read(ref s_done) >= k, TimeSpan.FromMinutes(1));
        t.Add($"cancelling the {Fmt.Int(k)} sleepers", allCancelled ? "all ended" : $"**only {Fmt.Int(Volatile.Read(ref s_done))} ended**", "n/a", "`RtTask.Cancel()` on each handle");
        report.Targets.Add(new TargetRow("≤ 256 bytes of runtime overhead per task (a sleeping task: heap retained beyond the same .NET async body's)", $"{Fmt.Num(overhead)} B ({Fmt.Num(retained)} − {Fmt.Num(dotNetRetained)} B)", Fmt.Ratio(overhead / 256), overhead <= 256));
        report.Targets.Add(new TargetRow($"{Fmt.Int(k)} sleeping tasks fit", allAsleep ? $"{Fmt.Num(retained)} B heap per task, {Fmt.Signed((wsAfter - wsBefore) / 1048576.0)} MB working set" : "not all fell asleep", "n/a", allAsleep && allCancelled));
        sec.Tables.Add(t);
        sec.Text.Add("Allocation counts come from the GC's own counters around each step; the runtime is started once for the section and warmed up with 10k spawns.");
    }

    private static async ValueTask SleeperAsync(TaskContext ctx)
    {
        try
        {
            Interlocked.Increment(ref s_asleep);
            await ctx.SleepUntil(Volatile.Read(ref s_wakeAt));
        }
        finally
        {
            Interlocked.Increment(ref s_done);
        }
    }

    // The sleeper's body as a .NET async method (an async ValueTask method that suspends is backed by
    // the same state-machine box as an async Task one).
    private static async Task DotNetSleeperAsync(Task t)
    {
        try
        {
            Interlocked.Increment(ref s_dotNetAsleep);
            await t;
        }
        finally
        {
            Interlocked.Increment(ref s_dotNetDone);
        }
    }

    private static (double PerItem, double SpawnSide) Allocated(Action run, int count)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long total = GC.GetTotalAllocatedBytes(precise: true);
        long mine = GC.GetAllocatedBytesForCurrentThread();
        run();
        long mineAfter = GC.GetAllocatedBytesForCurrentThread();
        long totalAfter = GC.GetTotalAllocatedBytes(precise: true);
        return ((totalAfter - total) / (double)count, (mineAfter - mine) / (double)count);
    }

    private static void RunAsyncAndDrain(RtScheduler rt, int count)
    {
        Volatile.Write(ref s_done, 0);
        for (int i = 0; i < count; i++)
        {
            Forget(rt.RunAsync(null, 50, s_empty));
        }

        SpinUntil(() => Volatile.Read(ref s_done) >= count, TimeSpan.FromMinutes(1));
    }

    /// <summary>Leaves a completion unawaited on purpose (the drain counts the bodies instead).</summary>
    private static void Forget(ValueTask run) => _ = run.IsCompleted;

    private static void SpawnAndDrain(RtScheduler rt, int count)
    {
        Volatile.Write(ref s_done, 0);
        for (int i = 0; i < count; i++)
        {
            _ = rt.Spawn(null, 50, s_empty);
        }

        SpinUntil(() => Volatile.Read(ref s_done) >= count, TimeSpan.FromMinutes(1));
    }

    private static void TaskRunAndDrain(int count)
    {
        Volatile.Write(ref s_done, 0);
        for (int i = 0; i < count; i++)
        {
            _ = Task.Run(s_emptyAction);
        }

        SpinUntil(() => Volatile.Read(ref s_done) >= count, TimeSpan.FromMinutes(1));
    }

    private static bool SpinUntil(Func<bool> done, TimeSpan timeout)
    {
        long end = RtClock.NowNs() + RtClock.ToNs(timeout);
        var spin = new SpinWait();
        while (!done())
        {
            if (RtClock.NowNs() > end)
            {
                return false;
            }

            spin.SpinOnce(-1);
        }

        return true;
    }
}
