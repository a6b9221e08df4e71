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
        report.Targets.Add(new TargetRow("≤ 256 bytes of runtime overhead per task", $"{Fmt.Num(perTask)} B allocated per spawned task", Fmt.Ratio(perTask / 256), perTask <= 256));

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

        // Sleeping tasks: retained bytes per task and the working set with 100k asleep.
        int k = s.SleepingTasks;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        long allocBefore = GC.GetTotalAllocatedBytes(precise: true);
        wsBefore = Environment.WorkingSet;
        Volatile.Write(ref s_done, 0);
        Volatile.Write(ref s_asleep, 0);
        Volatile.Write(ref s_wakeAt, RtClock.NowNs() + RtClock.ToNs(TimeSpan.FromHours(1)));
        using var cts = new CancellationTokenSource();
        for (int i = 0; i < k; i++)
        {
            _ = rt.Spawn(null, 50, s_sleeper, SchedPolicy.Fifo, null, cts.Token);
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
        var pending = new Task[Math.Min(k, 100_000)];
        for (int i = 0; i < pending.Length; i++)
        {
            pending[i] = WaitOn(tcs.Task);
        }

        double taskRetained = (GC.GetTotalMemory(forceFullCollection: true) - baseHeap) / (double)pending.Length;
        tcs.SetResult();
        await Task.WhenAll(pending);
        t.Add("heap bytes retained per sleeping task", Fmt.Num(retained), Fmt.Num(taskRetained),
            $"`GC.GetTotalMemory(true)` before and with {Fmt.Int(k)} tasks in `await ctx.SleepUntil(now + 1 h)` (RtRuntime) / an `async Task` awaiting an incomplete Task (.NET); includes the body's async state machine");
        t.Add("bytes allocated per sleeping task", Fmt.Num(allocated), "n/a", "`GC.GetTotalAllocatedBytes(precise: true)` around spawning them");
        t.Add($"{Fmt.Int(k)} tasks asleep at once", allAsleep ? "all asleep" : $"**only {Fmt.Int(Volatile.Read(ref s_asleep))} asleep**", "n/a",
            $"working set {Fmt.Num(wsBefore / 1048576.0)} MB → {Fmt.Num(wsAfter / 1048576.0)} MB ({Fmt.Signed((wsAfter - wsBefore) / 1048576.0)} MB, {Fmt.Num((wsAfter - wsBefore) / (double)k)} B per task)");
        cts.Cancel();
        bool allCancelled = SpinUntil(() => Volatile.Read(ref s_done) >= k, TimeSpan.FromMinutes(1));
        t.Add($"cancelling the {Fmt.Int(k)} sleepers", allCancelled ? "all ended" : $"**only {Fmt.Int(Volatile.Read(ref s_done))} ended**", "n/a", "`CancellationTokenSource.Cancel()` on their spawn token");
        report.Targets.Add(new TargetRow($"{Fmt.Int(k)} sleeping tasks fit", allAsleep ? $"{Fmt.Signed((wsAfter - wsBefore) / 1048576.0)} MB working set, {Fmt.Num(retained)} B heap per task" : "not all fell asleep", "n/a", allAsleep && allCancelled));
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

    private static async Task WaitOn(Task t) => await t;

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
