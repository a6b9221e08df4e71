using System.Globalization;

namespace RtRuntime.Compare.Sections;

/// <summary>
/// Section 3's spawn-and-run pair (RtRuntime Spawn and Task.Run, alternating) in child processes of
/// this program, one per setting: the GC gen0 budget (<c>DOTNET_GCgen0size</c>) is read at startup and
/// a memory lock is the whole process's, so each setting needs its own process. On this VM every page
/// of gen0 memory the GC hands out again after a collection costs a page fault, and the budget decides
/// how often that happens (locking the process's memory keeps those pages resident instead); each
/// child reports the minor page faults of each variant beside its time.
/// </summary>
internal static class SpawnSettingsChild
{
    /// <summary>The command line flag of the child: <c>--spawn-pair COUNT REPS [--lock-memory]</c>.</summary>
    public const string Flag = "--spawn-pair";

    /// <summary>The child's option to hold <see cref="RtSchedulerOptions.LockMemory"/> for its whole run (both variants).</summary>
    public const string LockFlag = "--lock-memory";

    private const string LargeBudget = "0x8000000"; // 128 MB

    /// <summary>One child's medians: ns per item and minor page faults per 1,000 items, each variant.</summary>
    public sealed record Result(double RtNs, double TaskRunNs, double RtFaultsPerK, double TaskRunFaultsPerK);

    /// <summary>
    /// The child's side: one warm-up pass and <paramref name="reps"/> measured passes; prints one line.
    /// With <paramref name="lockMemory"/>, a one-CPU runtime started with <see cref="RtSchedulerOptions.LockMemory"/>
    /// keeps the process's memory locked for the whole run, so that both variants run locked.
    /// </summary>
    public static async Task<int> RunChildAsync(int count, int reps, bool lockMemory, TextWriter stdout)
    {
        await using RtScheduler? holder = lockMemory ? RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1, LockMemory = true }) : null;
        var rt = new List<double>();
        var taskRun = new List<double>();
        long rtFaults = 0;
        long taskRunFaults = 0;
        for (int r = -1; r < reps; r++)
        {
            long f0 = Native.MinorFaults();
            double a = await DispatchSection.RtSpawnDrainAsync(new RtSchedulerOptions(), count);
            long f1 = Native.MinorFaults();
            double b = DispatchSection.TaskRunAsyncLambdaDrain(count);
            long f2 = Native.MinorFaults();
            if (r >= 0)
            {
                rt.Add(a);
                taskRun.Add(b);
                rtFaults += f1 - f0;
                taskRunFaults += f2 - f1;
            }
        }

        // Both variants warm up with a tenth of the items before the timed ones (RtSpawnDrainAsync on a
        // fresh runtime): faults are per item started, the warm-up's included (and the runtime's start).
        long rtItems = (long)reps * (count + Math.Max(1, count / 10));
        long taskRunItems = rtItems;
        await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"{Flag} {Fmt.Median(rt)} {Fmt.Median(taskRun)} {rtFaults * 1000.0 / rtItems} {taskRunFaults * 1000.0 / taskRunItems}"));
        return 0;
    }

    /// <summary>Runs a child per budget (the default, then 128 MB) and adds their table and target row.</summary>
    public static async Task AddTableAsync(Section sec, Report report, int count, int reps, TextWriter log)
    {
        var t = new Table("Spawn-and-run under other GC and memory settings (a child process each; ns per item)",
            "setting", "RtRuntime Spawn", "Task.Run (empty async lambda)", "RtRuntime Spawn / Task.Run (throughput ratio)", "minor page faults per 1,000 items: RtRuntime Spawn / Task.Run");
        foreach ((string? budget, bool locked) in new (string?, bool)[] { (null, false), (LargeBudget, false), (null, true) })
        {
            string label = budget is not null ? $"gen0 budget 128 MB (`DOTNET_GCgen0size={budget}`)"
                : locked ? "memory locked (`LockMemory = true`: mlockall), default gen0 budget"
                : "this program's defaults";
            (Result? r, string error) = await MeasureAsync(count, reps, budget, locked);
            if (r is null)
            {
                sec.Notes.Add($"The spawn pair with {label} failed: {error}");
                continue;
            }

            double ratio = r.TaskRunNs / r.RtNs;
            log.WriteLine($"  spawn pair, {label}: RtRuntime {Fmt.Num(r.RtNs)} ns/item, Task.Run {Fmt.Num(r.TaskRunNs)} ns/item ({Fmt.Ratio(ratio)})");
            t.Add(label, Fmt.Num(r.RtNs), Fmt.Num(r.TaskRunNs), Fmt.Ratio(ratio), $"{Fmt.Num(r.RtFaultsPerK)} / {Fmt.Num(r.TaskRunFaultsPerK)}");
            if (budget is not null)
            {
                report.Targets.Add(new TargetRow("Spawn-and-run of empty tasks ≥ 1.5× `Task.Run` (throughput), both with a 128 MB gen0 budget (child process)",
                    $"{Fmt.Num(r.RtNs)} vs {Fmt.Num(r.TaskRunNs)} ns/item", Fmt.Ratio(ratio), ratio >= 1.5));
            }
        }

        sec.Tables.Add(t);
        sec.Notes.Add("Why other settings: a minor page fault is costly on a VM (perf/probes/pagefault.c measures it; this run does not), and with the default budget the GC gives the pages of collected gen0 regions back to the OS "
            + "and faults them in again, so nearly every page the spawning thread allocates faults (the fault columns: one per a few KB allocated). A spawn allocates more than `Task.Run` of an Action (section 6 has its bytes per task), so the faults weigh on the spawn more. "
            + "With a 128 MB budget the collected regions are reused and both variants lose most of their faults; with the memory locked the pages stay resident (the GC's madvise cannot drop locked pages). "
            + "Both are process settings an application chooses (`DOTNET_GCgen0size` is read at startup; `LockMemory` locks the whole process); the main table above and its target row keep this program's defaults.");
    }

    private static async Task<(Result? R, string Error)> MeasureAsync(int count, int reps, string? gen0Size, bool lockMemory)
    {
        string exe = Environment.ProcessPath ?? "dotnet";
        var args = new List<string>();
        if (Path.GetFileNameWithoutExtension(exe) == "dotnet")
        {
            args.Add(typeof(SpawnSettingsChild).Assembly.Location); // run as `dotnet RtRuntime.Compare.dll`
        }

        args.AddRange([Flag, count.ToString(CultureInfo.InvariantCulture), reps.ToString(CultureInfo.InvariantCulture)]);
        if (lockMemory)
        {
            args.Add(LockFlag);
        }

        var env = new Dictionary<string, string>();
        if (gen0Size is not null)
        {
            env["DOTNET_GCgen0size"] = gen0Size;
        }

        ProcessRunner.Result p = await ProcessRunner.RunAsync(exe, args, TimeSpan.FromMinutes(5), env);
        string? line = p.Stdout.Split('\n').FirstOrDefault(l => l.StartsWith(Flag, StringComparison.Ordinal));
        double[]? v = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        return p.ExitCode == 0 && v is { Length: 4 }
            ? (new Result(v[0], v[1], v[2], v[3]), string.Empty)
            : (null, $"exit code {p.ExitCode}; {p.Stderr.Trim()}");
    }
}
