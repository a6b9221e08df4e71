using System.Globalization;
using RtRuntime.Compare.Sections;

namespace RtRuntime.Compare;

/// <summary>
/// The comparison runner: parses the command line, runs every section back to back in this process,
/// and writes the markdown report and its plots. Returns 0 on success, 1 when a section failed, 2 on
/// a usage error.
/// </summary>
public static class CompareCli
{
    private const string Usage = """
        usage: dotnet run -c Release --project perf/compare -- [--quick] [--out docs/benchmarks-compare.md] [--images DIR] [--only 1,3,5]
          --quick    every measurement at a tiny size (seconds; the smoke test uses it)
          --out      the markdown report (default docs/benchmarks-compare.md)
          --images   where the PNG plots go (default: images/ next to the report)
          --only     run only these sections (1 timer, 2 preemption, 3 dispatch, 4 check overhead, 5 per-CPU, 6 memory, 7 balancing and hotplug)
        (section 3 runs this program again as `--spawn-pair COUNT REPS [--lock-memory]` under other GC and memory settings)
        """;

    /// <summary>The section titles, in order; the smoke test checks that each is in the report.</summary>
    public static IReadOnlyList<string> SectionTitles { get; } =
        [TimerSection.Title, PreemptSection.Title, DispatchSection.Title, OverheadSection.Title, PerCpuSection.Title, MemorySection.Title, BalancingSection.Title];

    /// <summary>Runs the comparison with <paramref name="args"/>, writing progress to <paramref name="stdout"/>.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        // The default for every thread, not CurrentCulture: that one is an AsyncLocal, and would give every
        // spawn and Task.Run of the measurements an ExecutionContext to flow that an application need not have.
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
        if (args is [SpawnSettingsChild.Flag, string countArg, string repsArg, ..] && args.Length <= 4
            && int.TryParse(countArg, NumberStyles.Integer, CultureInfo.InvariantCulture, out int spawnCount) && spawnCount > 0
            && int.TryParse(repsArg, NumberStyles.Integer, CultureInfo.InvariantCulture, out int spawnReps) && spawnReps > 0
            && (args.Length == 3 || args[3] == SpawnSettingsChild.LockFlag))
        {
            return await SpawnSettingsChild.RunChildAsync(spawnCount, spawnReps, args.Length == 4, stdout); // section 3's child process
        }

        bool quick = false;
        string outPath = Path.Combine("docs", "benchmarks-compare.md");
        string? images = null;
        var sections = new HashSet<int>(Enumerable.Range(1, 7));
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick":
                    quick = true;
                    break;
                case "--out" or "--images" when i + 1 < args.Length && args[i + 1].StartsWith("--", StringComparison.Ordinal):
                    // `--out --quick` (the path forgotten) would take the option for a file name: a run at full size, its report
                    // in a file named --quick. A path that starts with -- is still given as ./--name.
                    await stderr.WriteLineAsync($"{args[i]} '{args[i + 1]}': a path is expected after {args[i]}, not an option (for a file whose name starts with --, write ./{args[i + 1]})");
                    return 2;
                case "--out" when i + 1 < args.Length:
                    outPath = args[++i];
                    break;
                case "--images" when i + 1 < args.Length:
                    images = args[++i];
                    break;
                case "--only" when i + 1 < args.Length:
                    string only = args[++i];
                    sections = only.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                        .Select(x => int.TryParse(x, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : -1)
                        .ToHashSet();
                    if (sections.Count == 0 || sections.Any(x => x is < 1 or > 7))
                    {
                        // An empty list would run nothing and still overwrite the report.
                        await stderr.WriteLineAsync($"--only '{only}' is not a list of sections; give section numbers 1..7, e.g. --only 1,3");
                        return 2;
                    }

                    break;
                case "-h" or "--help":
                    await stdout.WriteLineAsync(Usage);
                    return 0;
                default:
                    await stderr.WriteLineAsync($"unknown or incomplete argument '{args[i]}'");
                    await stderr.WriteLineAsync(Usage);
                    return 2;
            }
        }

        if (!OperatingSystem.IsLinux())
        {
            await stderr.WriteLineAsync("RtRuntime.Compare measures Linux timers, futexes and the kernel's SCHED_FIFO; it runs on Linux only.");
            return 2;
        }

        string fullOut;
        string imageDir;
        try
        {
            fullOut = Path.GetFullPath(outPath);
            imageDir = Path.GetFullPath(images ?? Path.Combine(Path.GetDirectoryName(fullOut)!, "images"));
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            await stderr.WriteLineAsync($"--out '{outPath}' / --images '{images}': not a usable path: {e.Message}");
            return 2;
        }

        // Checked before measuring: the report is written at the end, and a run takes minutes.
        if (CannotWrite(fullOut) is { } outProblem)
        {
            await stderr.WriteLineAsync($"--out '{outPath}': cannot write the report there: {outProblem}");
            return 2;
        }

        if (CannotWriteFolder(imageDir) is { } imagesProblem)
        {
            await stderr.WriteLineAsync($"--images '{images ?? imageDir}': cannot write the plots there: {imagesProblem}");
            return 2;
        }
        var settings = new CompareSettings
        {
            Quick = quick,
            OutPath = fullOut,
            ImageDir = imageDir,
            Sections = sections,
            Command = "dotnet run -c Release --project perf/compare --" + string.Concat(args.Select(a => " " + ShellQuote(a))),
        };

        var report = new Report();
        string loadBefore = MachineInfo.LoadAverage();
        DateTimeOffset started = DateTimeOffset.UtcNow;
        string machine = await MachineInfo.DescribeAsync();
        report.Header.Add($"- **Command:** `{settings.Command}`{(quick ? " (quick: tiny sizes, figures are not meaningful)" : string.Empty)}");
        report.Header.Add($"- **Date:** {started:yyyy-MM-dd HH:mm} UTC");
        report.Header.Add($"- **Machine:** {machine}");
        await stdout.WriteLineAsync($"RtRuntime.Compare: {machine}");
        await stdout.WriteLineAsync($"load average before: {loadBefore}");

        var runners = new (int Number, string Title, Func<CompareSettings, Report, TextWriter, Task> Run)[]
        {
            (1, TimerSection.Title, TimerSection.RunAsync),
            (2, PreemptSection.Title, PreemptSection.RunAsync),
            (3, DispatchSection.Title, DispatchSection.RunAsync),
            (4, OverheadSection.Title, OverheadSection.RunAsync),
            (5, PerCpuSection.Title, PerCpuSection.RunAsync),
            (6, MemorySection.Title, MemorySection.RunAsync),
            (7, BalancingSection.Title, BalancingSection.RunAsync),
        };
        int failures = 0;
        foreach ((int number, string title, Func<CompareSettings, Report, TextWriter, Task> run) in runners)
        {
            if (!settings.Sections.Contains(number))
            {
                continue;
            }

            var sw = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                await run(settings, report, stdout);
            }
#pragma warning disable CA1031 // a failed section is reported in the document and the exit code; the others still run
            catch (Exception e)
#pragma warning restore CA1031
            {
                failures++;
                await stderr.WriteLineAsync($"section '{title}' failed: {e}");
                Section? sec = report.Sections.FirstOrDefault(x => x.Title == title);
                if (sec is null)
                {
                    sec = new Section(title);
                    report.Sections.Add(sec);
                }

                sec.Notes.Add($"**This section failed:** {e.GetType().Name}: {e.Message}");
            }

            await stdout.WriteLineAsync($"  ({title}: {sw.Elapsed.TotalSeconds:0.0} s)");
        }

        string loadAfter = MachineInfo.LoadAverage();
        TimeSpan took = DateTimeOffset.UtcNow - started;
        report.Header.Add($"- **Load average** (1/5/15 min, /proc/loadavg): before {loadBefore}, after {loadAfter}; the run took {took.TotalMinutes:0.0} min. "
            + "The machine is shared: millisecond outliers appear in every run, idle or not, for RtRuntime and baselines alike.");
        report.Header.Add("- Every figure comes from this run; nothing is hard-coded. Re-run the command to regenerate this file and its plots.");
        report.Footer.Add("## What limits the misses");
        report.Footer.Add(string.Empty);
        report.Footer.Add("Mechanisms, to read against the rows above (the figures themselves are this run's):");
        report.Footer.Add(string.Empty);
        report.Footer.Add("- **CPU threads are SCHED_OTHER by default.** On a shared machine a busy SCHED_OTHER CPU thread gets only its fair share of its core, so work made runnable on it "
            + "(an event, a timer) waits for the OS to give the core back: compare the default rows of sections 1 and 2 with their `FIFO CPU thread` rows and with the kernel's SCHED_FIFO rows. "
            + "The opt-in `CpuThreadPolicy = Fifo` removes that, as it does for cyclictest.");
        report.Footer.Add("- **A parked CPU costs a cross-CPU futex wakeup** (plus, when the core is shared, the OS's wakeup-preemption delay). The ping-pong and the event wake pay it on every handoff; "
            + "`SpinBeforePark` avoids it only while the spinning thread keeps its core.");
        report.Footer.Add("- **Timers on a busy CPU** are polled by its preemption points from `TimerLead` (200 µs) before the deadline, and with `AnticipateTimers` the point before the deadline stops the running task and the CPU spins to it (section 2's `[AnticipateTimers off]` rows are the same-run baseline); points further apart than the lead leave the timer to the `rt/timer` thread (SCHED_OTHER, unpinned), whose own futex wakeup is then added to the preemption-point interval.");
        report.Footer.Add("- **Spawn allocates and wakes:** every spawn allocates the task object (section 6) and, when the target CPU is parked, makes a futex wake syscall; "
            + "`perf record` of the spawn loop showed the spawning thread in page faults and `memset` of fresh allocation contexts (the rebalancer's copy of whole run queues it also showed, `RunQueue.ToList()` in `Balancer.PushWaiting`, is gone: a push now looks at the first few pushable tasks only). "
            + "`RunAsync` takes the task object from the runtime's cache instead and allocates nothing once the cache is warm (section 6), but it is no faster: a reused object's cache lines come back from the core that ran it, and the spawn's other cross-core traffic (the wake list, the target CPU's priority line) stays.");
        report.Footer.Add("- **A migrate-disable guard per increment** costs more than the increment: `PerCpu<T>` beats a contended `Interlocked` when one guard covers many increments; `PerCpuCounter.Increment` pays instead a check per call that the calling thread runs the task (a thread-static read), where the kernel's `this_cpu_inc` is one `gs:`-relative instruction.");

        string imagePrefix = Path.GetRelativePath(Path.GetDirectoryName(fullOut)!, imageDir).Replace('\\', '/') + "/";
        await File.WriteAllTextAsync(fullOut, MarkdownWriter.Write(report, imagePrefix));
        await stdout.WriteLineAsync($"load average after: {loadAfter}");
        await stdout.WriteLineAsync("targets:");
        foreach (TargetRow t in report.Targets)
        {
            await stdout.WriteLineAsync($"  [{(t.Met switch { true => "met", false => "MISSED", null => "reported" })}] {t.Target}: {t.Measured} ({t.Ratio})");
        }

        await stdout.WriteLineAsync($"wrote {fullOut} and plots in {imageDir} ({took.TotalSeconds:0} s)");
        return failures == 0 ? 0 : 1;
    }

    /// <summary>
    /// <paramref name="arg"/> as a POSIX shell reads it back: as is when it has no character the shell
    /// would split or expand, else between single quotes (a quote inside as <c>'\''</c>), so that the
    /// report's command line reruns the run, a path with a space included.
    /// </summary>
    internal static string ShellQuote(string arg) =>
        arg.Length > 0 && arg.All(c => char.IsAsciiLetterOrDigit(c) || "-_./,:=+@%".Contains(c, StringComparison.Ordinal))
            ? arg
            : "'" + arg.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>Null when the report file <paramref name="path"/> can be created or replaced (its folder is created); else why not.</summary>
    private static string? CannotWrite(string path)
    {
        if (Directory.Exists(path))
        {
            return "it is a directory; give a file name, e.g. docs/benchmarks-compare.md";
        }

        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            bool existed = File.Exists(path);
            using (new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write))
            {
            }

            if (!existed)
            {
                File.Delete(path);
            }

            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            return e.Message;
        }
    }

    /// <summary>
    /// Null when the folder <paramref name="path"/> exists or can be created and takes a file; else why not.
    /// Creating it is not enough: a folder that exists but takes no files (read-only, a pseudo file system)
    /// would only fail at the first plot, after its section's measurements, and then every section.
    /// </summary>
    private static string? CannotWriteFolder(string path)
    {
        try
        {
            Directory.CreateDirectory(path);
            string probe = Path.Combine(path, $".rtcompare-write-test-{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}");
            using (new FileStream(probe, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }

            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            return e.Message;
        }
    }
}
