using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace RtRuntime.Compare;

/// <summary>The libc calls the baselines need: timer slack, absolute clock_nanosleep, CLOCK_MONOTONIC, pinning.</summary>
[SupportedOSPlatform("linux")]
internal static unsafe partial class Native
{
    private const string Libc = "libc";
    private const int ClockMonotonic = 1;
    private const int ClockThreadCpu = 3;
    private const int TimerAbstime = 1;
    private const int PrSetTimerSlack = 29;

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Sec;
        public long Nsec;
    }

    [LibraryImport(Libc, EntryPoint = "clock_nanosleep")]
    private static partial int ClockNanosleep(int clock, int flags, Timespec* request, Timespec* remain);

    [LibraryImport(Libc, EntryPoint = "clock_gettime")]
    [SuppressGCTransition]
    private static partial int ClockGettime(int clock, Timespec* ts);

    [LibraryImport(Libc, EntryPoint = "clock_gettime")]
    private static partial int ClockGettimeSyscall(int clock, Timespec* ts); // a thread CPU clock of another thread is a system call

    [LibraryImport(Libc, EntryPoint = "prctl", SetLastError = true)]
    private static partial int Prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    [LibraryImport(Libc, EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int SchedSetAffinity(int pid, nuint size, ulong* mask);

    [LibraryImport(Libc, EntryPoint = "getrusage")]
    private static partial int GetRusage(int who, long* usage);

    /// <summary>The process's minor page faults so far (<c>getrusage(RUSAGE_SELF)</c>: two timevals, then ru_maxrss … ru_minflt).</summary>
    public static long MinorFaults()
    {
        long* usage = stackalloc long[18];
        _ = GetRusage(0, usage);
        return usage[8];
    }

    /// <summary>CLOCK_MONOTONIC in nanoseconds (the clock RtClock and Stopwatch read on Linux).</summary>
    public static long MonotonicNs()
    {
        Timespec ts;
        _ = ClockGettime(ClockMonotonic, &ts);
        return (ts.Sec * 1_000_000_000L) + ts.Nsec;
    }

    /// <summary>
    /// CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID) in nanoseconds: compute benchmarks use it so
    /// that time the OS gave to other tenants of a shared machine is not counted.
    /// </summary>
    public static long ThreadCpuNs()
    {
        Timespec ts;
        _ = ClockGettime(ClockThreadCpu, &ts);
        return (ts.Sec * 1_000_000_000L) + ts.Nsec;
    }

    /// <summary>
    /// CPU time of thread <paramref name="tid"/> of this process in nanoseconds, from its per-thread CPU
    /// clock (MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED), what pthread_getcpuclockid returns); -1 if unreadable.
    /// </summary>
    public static long ThreadCpuNs(int tid)
    {
        Timespec ts;
        return ClockGettimeSyscall((~tid << 3) | 6, &ts) == 0 ? (ts.Sec * 1_000_000_000L) + ts.Nsec : -1;
    }

    /// <summary>Sleeps until the absolute CLOCK_MONOTONIC time <paramref name="deadlineNs"/>.</summary>
    public static void SleepUntil(long deadlineNs)
    {
        var ts = new Timespec { Sec = deadlineNs / 1_000_000_000L, Nsec = deadlineNs % 1_000_000_000L };
        while (ClockNanosleep(ClockMonotonic, TimerAbstime, &ts, null) == 4)
        {
            // EINTR: sleep again to the same absolute deadline.
        }
    }

    /// <summary>prctl(PR_SET_TIMERSLACK, 1) on the calling thread; true on success.</summary>
    public static bool SetTimerSlackOneNs() => Prctl(PrSetTimerSlack, 1, 0, 0, 0) == 0;

    /// <summary>Pins the calling thread to <paramref name="core"/>; true on success.</summary>
    public static bool PinTo(int core)
    {
        ulong* mask = stackalloc ulong[16];
        for (int i = 0; i < 16; i++)
        {
            mask[i] = 0;
        }

        mask[core >> 6] = 1UL << (core & 63);
        return SchedSetAffinity(0, 128, mask) == 0;
    }
}
