using Microsoft.Extensions.Logging;
using RtRuntime.Cpus;
using RtRuntime.Diagnostics;
using RtRuntime.Interop;

namespace RtRuntime.Scheduling;

/// <summary>
/// Housekeeping cores (the kernel's <c>housekeeping_cpumask()</c>, kernel/sched/isolation.c): the
/// cores the process may use that no pinned CPU thread runs on. The runtime's own helper threads,
/// <c>rt/timer</c> and <c>rt/balance</c>, run there when there are any, as an isolated CPU's timers and
/// kthreads go to the housekeeping CPUs: every wakeup of a helper thread on a CPU thread's core takes
/// that core from the running task (about 16 µs on these virtual machines), and when it coincides
/// with a deadline the woken task pays it. With a CPU thread on every core there are none, and the
/// helpers run wherever the OS puts them. Linux only: elsewhere the helpers are left where the OS puts them.
/// </summary>
internal static class Housekeeping
{
    /// <summary>
    /// The allowed cores no CPU thread is pinned to, or null when there are none or the CPU threads
    /// are not pinned (<paramref name="cpuCores"/> −1: then any core may run a CPU thread).
    /// </summary>
    /// <param name="allowed">The process's allowed cores (its affinity mask).</param>
    /// <param name="cpuCores">The core of each CPU thread, −1 when unpinned.</param>
    public static CpuSet? Cores(CpuSet allowed, IReadOnlyCollection<int> cpuCores)
    {
        if (cpuCores.Any(core => core < 0))
        {
            return null;
        }

        var free = new List<int>();
        for (int core = allowed.First; core >= 0; core = allowed.Next(core))
        {
            if (!cpuCores.Contains(core))
            {
                free.Add(core);
            }
        }

        return free.Count == 0 ? null : CpuSet.Of(free.ToArray());
    }

    /// <summary>
    /// Confines the calling helper thread to <paramref name="cores"/> (none: leaves it); best effort,
    /// a refusal is logged and the thread runs where the OS puts it.
    /// </summary>
    public static void Confine(CpuSet? cores, string thread, ILogger logger)
    {
        if (cores is not { } set || !OperatingSystem.IsLinux())
        {
            return;
        }

        int errno = LinuxInterop.SetCurrentThreadAffinity(set);
        if (errno != 0)
        {
            RtLog.HousekeepingRefused(logger, thread, set, errno);
        }
    }
}
