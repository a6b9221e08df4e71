using System.Runtime.Versioning;

namespace RtRuntime.Compare.Tests;

/// <summary>
/// The comparison runner at its tiny --quick size, in-process: it exits 0 and writes a report with
/// every section and at least one table row in each. Timings are never asserted.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class CompareSmokeTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "rtcompare-smoke-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public async Task RunAsync_Quick_WritesEverySectionWithTableRows()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        string outPath = Path.Combine(_dir, "benchmarks-compare.md");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        int code = await CompareCli.RunAsync(["--quick", "--out", outPath], stdout, stderr);

        Assert.True(code == 0, stdout + "\n" + stderr);
        Assert.True(File.Exists(outPath));
        string md = await File.ReadAllTextAsync(outPath);
        Assert.Contains("## Targets", md, StringComparison.Ordinal);
        Assert.Contains("**Machine:**", md, StringComparison.Ordinal);
        Assert.Contains("--quick", md, StringComparison.Ordinal);
        Assert.Equal(7, CompareCli.SectionTitles.Count);
        foreach (string title in CompareCli.SectionTitles)
        {
            string body = SectionBody(md, "## " + title);
            Assert.True(DataRows(body) >= 1, $"section '{title}' has no table row:\n{body}");
            Assert.DoesNotContain("This section failed", body, StringComparison.Ordinal);
        }

        Assert.True(DataRows(SectionBody(md, "## Targets")) >= 1);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(_dir, "images"), "compare-*.png"));

        // Section 3 runs this program again in child processes (one per GC and memory setting): each must have reported.
        Assert.Contains("Spawn-and-run under other GC and memory settings", md, StringComparison.Ordinal);
        Assert.DoesNotContain("The spawn pair with", md, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_UnknownArgument_ExitsTwo()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        int code = await CompareCli.RunAsync(["--no-such-option"], stdout, stderr);

        Assert.Equal(2, code);
        Assert.Contains("unknown", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_OnlyOneSection_WritesThatSection()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        string outPath = Path.Combine(_dir, "only5.md");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        int code = await CompareCli.RunAsync(["--quick", "--only", "5", "--out", outPath], stdout, stderr);

        Assert.True(code == 0, stdout + "\n" + stderr);
        string md = await File.ReadAllTextAsync(outPath);
        Assert.Contains("## " + CompareCli.SectionTitles[4], md, StringComparison.Ordinal);
        Assert.DoesNotContain("## " + CompareCli.SectionTitles[0], md, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData(",")]
    [InlineData("1,x")]
    public async Task RunAsync_OnlyWithNoValidSection_ExitsTwoNamingTheValue_AndWritesNoReport(string only)
    {
        // An --only that names no section must not run nothing and overwrite the report with an empty one.
        string outPath = Path.Combine(_dir, "only-bad.md");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        int code = await CompareCli.RunAsync(["--only", only, "--out", outPath], stdout, stderr);

        Assert.True(code == 2, stdout + "\n" + stderr);
        Assert.Contains($"--only '{only}'", stderr.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(outPath));
    }

    [Fact]
    public async Task RunAsync_OutThatCannotBeWritten_ExitsTwoBeforeMeasuring()
    {
        // A directory, and a path under a file: both fail at once with a message, not with an unhandled exception
        // (for the directory, only after the whole run).
        Directory.CreateDirectory(_dir);
        string file = Path.Combine(_dir, "a-file");
        await File.WriteAllTextAsync(file, "x");
        foreach (string outPath in new[] { _dir, Path.Combine(file, "report.md") })
        {
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();

            int code = await CompareCli.RunAsync(["--quick", "--only", "4", "--out", outPath], stdout, stderr);

            Assert.True(code == 2, stdout + "\n" + stderr);
            Assert.Contains($"--out '{outPath}'", stderr.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("preemption point overhead", stdout.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task RunAsync_ImagesFolderThatCannotBeWrittenTo_ExitsTwoBeforeMeasuring()
    {
        // A folder that exists but takes no files (/proc refuses them, even to root): creating it succeeds, so
        // only a file written into it shows the problem. Found only when the first plot was saved, it failed
        // every section after its measurements (exit 1), where a bad --out stops the run at once.
        if (!OperatingSystem.IsLinux() || !Directory.Exists("/proc/self"))
        {
            return;
        }

        string outPath = Path.Combine(_dir, "report.md");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        int code = await CompareCli.RunAsync(["--quick", "--only", "4", "--out", outPath, "--images", "/proc/self"], stdout, stderr);

        Assert.True(code == 2, stdout + "\n" + stderr);
        Assert.Contains("--images '/proc/self'", stderr.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("preemption point overhead", stdout.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(outPath));
    }

    [Theory]
    [InlineData("--out")]
    [InlineData("--images")]
    public async Task RunAsync_PathOptionFollowedByAnOption_ExitsTwoNamingBoth_AndRunsNothing(string option)
    {
        // `--out --quick`, the path forgotten: the option must not become the file name (before, the run went on and
        // wrote its report, or its plots, under a file or folder named --quick in the working directory).
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        string strayPath = Path.GetFullPath("--quick");
        bool existedBefore = Path.Exists(strayPath);
        bool created = false;
        int code;
        try
        {
            code = await CompareCli.RunAsync(["--quick", "--only", "4", option, "--quick"], stdout, stderr);
        }
        finally
        {
            if (!existedBefore && Path.Exists(strayPath))
            {
                created = true;
                if (Directory.Exists(strayPath))
                {
                    Directory.Delete(strayPath, recursive: true);
                }
                else
                {
                    File.Delete(strayPath);
                }
            }
        }

        Assert.True(code == 2, stdout + "\n" + stderr);
        Assert.Contains($"{option} '--quick'", stderr.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("preemption point overhead", stdout.ToString(), StringComparison.Ordinal);
        Assert.False(created, $"{option} --quick created {strayPath}");
    }

    [Fact]
    public async Task RunAsync_ImagesFolderWithASpace_LinksThePlotsSoMarkdownShowsThem()
    {
        // CommonMark ends a bare link destination at a space: ![..](my plots/x.png) is shown as text, not as the plot.
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        string outPath = Path.Combine(_dir, "report.md");
        string images = Path.Combine(_dir, "my plots");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        int code = await CompareCli.RunAsync(["--quick", "--only", "4", "--out", outPath, "--images", images], stdout, stderr);

        Assert.True(code == 0, stdout + "\n" + stderr);
        Assert.True(File.Exists(Path.Combine(images, "compare-overhead.png")));
        string md = await File.ReadAllTextAsync(outPath);
        Assert.Contains("](<my plots/compare-overhead.png>)", md, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_PathWithASpace_TheReportsCommandQuotesIt()
    {
        // The report's command is there to rerun the run: a path with a space, unquoted, is two arguments.
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        string outPath = Path.Combine(_dir, "a report.md");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        int code = await CompareCli.RunAsync(["--quick", "--only", "4", "--out", outPath], stdout, stderr);

        Assert.True(code == 0, stdout + "\n" + stderr);
        string md = await File.ReadAllTextAsync(outPath);
        Assert.Contains($"--only 4 --out '{outPath}'`", md, StringComparison.Ordinal);
        Assert.Equal("'it'\\''s'", CompareCli.ShellQuote("it's"));
        Assert.Equal("''", CompareCli.ShellQuote(string.Empty));
    }

    [Fact]
    public async Task RunAsync_PreemptionSection_LeavesNoHelperBinaryBehind()
    {
        // Section 2 builds native/preempt.c into <temp>/rtcompare-<pid>; every run used to leave that folder behind.
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        string helperDir = Path.Combine(Path.GetTempPath(), "rtcompare-" + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (Directory.Exists(helperDir))
        {
            Directory.Delete(helperDir, recursive: true); // an earlier test of this process, or a process id reused
        }

        string outPath = Path.Combine(_dir, "only2.md");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        int code = await CompareCli.RunAsync(["--quick", "--only", "2", "--out", outPath], stdout, stderr);

        Assert.True(code == 0, stdout + "\n" + stderr);
        if (File.Exists("/usr/bin/gcc") || File.Exists("/usr/bin/cc"))
        {
            Assert.Contains("kernel SCHED_FIFO timer", await File.ReadAllTextAsync(outPath), StringComparison.Ordinal); // the helper was built and ran
        }

        Assert.False(Directory.Exists(helperDir), $"{helperDir} was left behind");
    }

    private static string SectionBody(string md, string header)
    {
        int start = md.IndexOf(header + "\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"missing section header '{header}'");
        int next = md.IndexOf("\n## ", start + header.Length, StringComparison.Ordinal);
        return next < 0 ? md[start..] : md[start..next];
    }

    private static int DataRows(string body) =>
        body.Split('\n').Count(l => l.StartsWith('|') && !l.StartsWith("|---", StringComparison.Ordinal)) - body.Split('\n').Count(l => l.StartsWith("|---", StringComparison.Ordinal));
}
