using Microsoft.Extensions.Logging;
using RtRuntime.Tests.Hotplug;

namespace RtRuntime.Tests.Core;

/// <summary>
/// The timer thread (the hrtimer interrupt of busy CPUs) runs at <c>TimerThreadNice</c> (default −20)
/// so that it gets a core at once even when every core runs a CPU thread; when the OS refuses, the
/// runtime logs it and goes on.
/// </summary>
public class TimerThreadTests
{
    [LinuxFact]
    public async Task TimerThread_RunsAtNiceMinus20_OrLogsTheRefusal()
    {
        HashSet<int> before = TimerThreadIds();
        using var logs = new CapturingLoggerFactory();
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.LoggerFactory = logs;
        });

        // Other tests may start runtimes meanwhile: every new timer thread is at −20 or refused it.
        bool Refused() => logs.Messages.Any(m => m.Level == LogLevel.Information && m.Message.Contains("rt/timer: the OS refused nice -20", StringComparison.Ordinal));
        await Rt.Until(() => TimerThreadIds().Except(before).Any(tid => Nice(tid) == -20) || Refused(), "the timer thread applied its nice value or logged the refusal");
        Assert.True(Refused() || TimerThreadIds().Except(before).Any(tid => Nice(tid) == -20));
        await rt.AssertStillRunsTasks();
    }

    private static HashSet<int> TimerThreadIds() =>
        Directory.EnumerateDirectories("/proc/self/task")
            .Where(d => ReadOrEmpty(Path.Combine(d, "comm")).Trim() == "rt/timer")
            .Select(d => int.Parse(Path.GetFileName(d), System.Globalization.CultureInfo.InvariantCulture))
            .ToHashSet();

    /// <summary>Field 19 of /proc/self/task/TID/stat (after the parenthesised comm).</summary>
    private static int Nice(int tid)
    {
        string stat = ReadOrEmpty($"/proc/self/task/{tid}/stat");
        int close = stat.LastIndexOf(')');
        if (close < 0)
        {
            return int.MinValue; // the thread ended
        }

        string[] fields = stat[(close + 2)..].Split(' ');
        return int.Parse(fields[16], System.Globalization.CultureInfo.InvariantCulture); // state is field 3, nice field 19
    }

    private static string ReadOrEmpty(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return string.Empty; // the thread ended between listing and reading
        }
    }
}
