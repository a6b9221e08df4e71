using System.Globalization;

namespace RtRuntime.Compare;

/// <summary>The kernel baselines: Debian's rt-tests <c>cyclictest</c> (optionally under <c>stress-ng</c>) and the gcc-built C helper.</summary>
internal static class KernelTools
{
    public const string InstallHint = "apt-get install -y rt-tests stress-ng";

    /// <summary>
    /// Runs <c>cyclictest -m -S -p 90 -i interval -l loops -q -h 25000</c> (optionally with
    /// <c>stress-ng --cpu N</c> alongside) and turns its per-µs histogram into a <see cref="Latency"/>.
    /// Histogram overflows are recorded at the thread's maximum. Null when cyclictest is not installed.
    /// </summary>
    public static async Task<(Latency? Latency, string Note)> CyclictestAsync(string label, int loops, long intervalNs, bool stress, TextWriter log)
    {
        string? cyclictest = ProcessRunner.Which("cyclictest");
        if (cyclictest is null)
        {
            log.WriteLine($"  cyclictest not found: skipped (install it with `{InstallHint}`)");
            return (null, $"cyclictest not installed: skipped. Install it with `{InstallHint}`.");
        }

        string interval = (intervalNs / 1000).ToString(CultureInfo.InvariantCulture);
        string[] args = ["-m", "-S", "-p", "90", "-i", interval, "-l", loops.ToString(CultureInfo.InvariantCulture), "-q", "-h", "25000"];
        string command = "cyclictest " + string.Join(' ', args);
        System.Diagnostics.Process? stressor = null;
        try
        {
            if (stress)
            {
                string? stressNg = ProcessRunner.Which("stress-ng");
                if (stressNg is null)
                {
                    log.WriteLine($"  stress-ng not found: skipped (install it with `{InstallHint}`)");
                    return (null, $"stress-ng not installed: the loaded kernel run is skipped. Install it with `{InstallHint}`.");
                }

                int seconds = (int)Math.Ceiling((loops * intervalNs / 1e9) + 10);
                var psi = new System.Diagnostics.ProcessStartInfo(stressNg) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
                foreach (string a in new[] { "--cpu", Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture), "--timeout", seconds.ToString(CultureInfo.InvariantCulture) + "s", "--quiet" })
                {
                    psi.ArgumentList.Add(a);
                }

                stressor = System.Diagnostics.Process.Start(psi);
                await Task.Delay(500);
                command = $"stress-ng --cpu {Environment.ProcessorCount} & " + command;
            }

            var timeout = TimeSpan.FromSeconds((loops * intervalNs / 1e9 * 3) + 30);
            ProcessRunner.Result r = await ProcessRunner.RunAsync(cyclictest, args, timeout);
            if (r.ExitCode != 0)
            {
                log.WriteLine($"  cyclictest failed ({r.ExitCode}): {r.Stderr.Trim()}");
                return (null, $"`{command}` failed with exit code {r.ExitCode}: {r.Stderr.Trim()}");
            }

            return (Parse(label, r.Stdout), "`" + command + "`");
        }
        finally
        {
            if (stressor is not null)
            {
                try
                {
                    stressor.Kill(entireProcessTree: true);
                    await stressor.WaitForExitAsync();
                }
                catch (InvalidOperationException)
                {
                    // already gone
                }

                stressor.Dispose();
            }
        }
    }

    internal static Latency Parse(string label, string output)
    {
        var latency = new Latency(label);
        long[]? max = null;
        long[]? overflows = null;
        foreach (string raw in output.Split('\n'))
        {
            string line = raw.Trim();
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith("# Max Latencies:", StringComparison.Ordinal))
            {
                max = Numbers(line["# Max Latencies:".Length..]);
            }
            else if (line.StartsWith("# Histogram Overflows:", StringComparison.Ordinal))
            {
                overflows = Numbers(line["# Histogram Overflows:".Length..]);
            }
            else if (line[0] != '#')
            {
                long[] cells = Numbers(line);
                for (int i = 1; i < cells.Length; i++)
                {
                    latency.Record(cells[0] * 1000, cells[i]);
                }
            }
        }

        if (max is not null && overflows is not null)
        {
            for (int i = 0; i < Math.Min(max.Length, overflows.Length); i++)
            {
                latency.Record(max[i] * 1000, overflows[i]);
            }
        }

        return latency;
    }

    private static long[] Numbers(string s) =>
        s.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)
            .Select(x => long.TryParse(x, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) ? v : -1)
            .Where(v => v >= 0)
            .ToArray();

    /// <summary>
    /// Compiles native/preempt.c with the machine's gcc into a temporary folder; returns the binary's
    /// path, or null and why not.
    /// </summary>
    public static async Task<(string? Path, string Note)> BuildHelperAsync(TextWriter log)
    {
        string source = Path.Combine(AppContext.BaseDirectory, "native", "preempt.c");
        if (!File.Exists(source))
        {
            return (null, $"C helper source not found at {source}");
        }

        string? gcc = ProcessRunner.Which("gcc") ?? ProcessRunner.Which("cc");
        if (gcc is null)
        {
            log.WriteLine("  gcc not found: the kernel preemption baseline is skipped (apt-get install -y gcc)");
            return (null, "gcc not installed: the kernel SCHED_FIFO baseline is skipped (`apt-get install -y gcc`).");
        }

        string dir = Path.Combine(Path.GetTempPath(), "rtcompare-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(dir);
        string binary = Path.Combine(dir, "preempt");
        ProcessRunner.Result r = await ProcessRunner.RunAsync(gcc, ["-O2", "-Wall", "-pthread", "-o", binary, source], TimeSpan.FromSeconds(60));
        if (r.ExitCode != 0)
        {
            log.WriteLine("  gcc failed: " + r.Stderr.Trim());
            DeleteHelper(binary);
            return (null, "gcc failed on native/preempt.c: " + r.Stderr.Trim());
        }

        return (binary, $"`gcc -O2 -pthread native/preempt.c` (built at run time by {gcc})");
    }

    /// <summary>
    /// Deletes the folder <see cref="BuildHelperAsync"/> built <paramref name="binary"/> in (this run's own,
    /// under the temporary folder): left behind, every run added one (75 had piled up in /tmp on a
    /// review machine). Null: nothing was built.
    /// </summary>
    public static void DeleteHelper(string? binary)
    {
        if (binary is null)
        {
            return;
        }

        try
        {
            Directory.Delete(Path.GetDirectoryName(binary)!, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // a temporary folder: the OS's cleanup takes it if this cannot
        }
    }

    /// <summary>Runs the helper in <paramref name="mode"/> (timer or event); each stdout line is one latency in ns.</summary>
    public static async Task<(Latency? Latency, string Note)> RunHelperAsync(string binary, string label, string mode, int samples, long intervalNs)
    {
        string[] args = [mode, samples.ToString(CultureInfo.InvariantCulture), (intervalNs / 1000).ToString(CultureInfo.InvariantCulture)];
        ProcessRunner.Result r = await ProcessRunner.RunAsync(binary, args, TimeSpan.FromSeconds((samples * intervalNs / 1e9 * 4) + 30));
        if (r.ExitCode != 0)
        {
            return (null, $"the C helper ({mode}) failed with exit code {r.ExitCode}: {r.Stderr.Trim()}");
        }

        var latency = new Latency(label);
        foreach (string line in r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (long.TryParse(line, NumberStyles.Integer, CultureInfo.InvariantCulture, out long ns))
            {
                latency.Record(ns);
            }
        }

        return (latency, r.Stderr.Trim());
    }
}
