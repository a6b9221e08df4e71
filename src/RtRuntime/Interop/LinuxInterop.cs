using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace RtRuntime.Interop;

/// <summary>libc calls the CPU threads need on Linux: affinity, OS policy, timer slack, futex.</summary>
[SupportedOSPlatform("linux")]
internal static unsafe partial class LinuxInterop
{
    private const string Libc = "libc";
    private const int PrTimerSlack = 29;      // PR_SET_TIMERSLACK
    private const int PrioProcess = 0;        // PRIO_PROCESS
    private const int SchedFifo = 1;          // SCHED_FIFO
    private const long SysFutexX64 = 202;
    private const long SysFutexArm64 = 98;
    private const int FutexWaitPrivate = 128; // FUTEX_WAIT | FUTEX_PRIVATE_FLAG
    private const int FutexWakePrivate = 129; // FUTEX_WAKE | FUTEX_PRIVATE_FLAG
    private const int McLCurrent = 1;         // MCL_CURRENT
    private const int McLFuture = 2;          // MCL_FUTURE

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport(Libc, EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int SchedSetAffinity(int pid, nuint size, ulong* mask);

    [LibraryImport(Libc, EntryPoint = "sched_getaffinity", SetLastError = true)]
    private static partial int SchedGetAffinity(int pid, nuint size, ulong* mask);

    [LibraryImport(Libc, EntryPoint = "sched_getcpu")]
    [SuppressGCTransition]
    internal static partial int SchedGetCpu();

    [LibraryImport(Libc, EntryPoint = "gettid")]
    internal static partial int GetTid();

    [LibraryImport(Libc, EntryPoint = "prctl", SetLastError = true)]
    private static partial int Prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    [LibraryImport(Libc, EntryPoint = "setpriority", SetLastError = true)]
    private static partial int SetPriority(int which, uint who, int prio);

    [LibraryImport(Libc, EntryPoint = "sched_setscheduler", SetLastError = true)]
    private static partial int SchedSetScheduler(int pid, int policy, int* param);

    [LibraryImport(Libc, EntryPoint = "mlockall", SetLastError = true)]
    private static partial int MlockAll(int flags);

    [LibraryImport(Libc, EntryPoint = "munlockall", SetLastError = true)]
    private static partial int MunlockAll();

    [LibraryImport(Libc, EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clockId, Timespec* ts);

    [LibraryImport(Libc, EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, int* uaddr, int op, int val, Timespec* timeout, nint uaddr2, int val3);

    /// <summary>Pins the calling thread to <paramref name="cores"/>; returns 0 or the errno.</summary>
    internal static int SetCurrentThreadAffinity(Cpus.CpuSet cores)
    {
        ulong* mask = stackalloc ulong[Cpus.CpuSet.MaxCpus / 64];
        for (int i = 0; i < Cpus.CpuSet.MaxCpus / 64; i++)
        {
            mask[i] = cores.Word(i);
        }

        return SchedSetAffinity(0, (nuint)(Cpus.CpuSet.MaxCpus / 8), mask) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>The calling thread's affinity mask (for the process: what taskset/cpuset allows).</summary>
    internal static Cpus.CpuSet GetCurrentThreadAffinity()
    {
        ulong* mask = stackalloc ulong[Cpus.CpuSet.MaxCpus / 64];
        if (SchedGetAffinity(0, (nuint)(Cpus.CpuSet.MaxCpus / 8), mask) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new InvalidOperationException($"sched_getaffinity failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).");
        }

        var ids = new List<int>();
        for (int cpu = 0; cpu < Cpus.CpuSet.MaxCpus; cpu++)
        {
            if ((mask[cpu >> 6] & (1UL << (cpu & 63))) != 0)
            {
                ids.Add(cpu);
            }
        }

        return Cpus.CpuSet.Of(ids.ToArray());
    }

    /// <summary>
    /// The CPU time thread <paramref name="tid"/> of this process has run, in ns, from its per-thread
    /// CPU clock (what <c>pthread_getcpuclockid</c> returns: <c>MAKE_THREAD_CPUCLOCK(tid,
    /// CPUCLOCK_SCHED)</c>), readable from any thread; -1 if the clock cannot be read (the thread ended).
    /// </summary>
    internal static long ThreadCpuTimeNs(int tid)
    {
        Timespec ts;
        int clockId = (~tid << 3) | 6; // CPUCLOCK_PERTHREAD_MASK (4) | CPUCLOCK_SCHED (2)
        return ClockGetTime(clockId, &ts) == 0 ? (ts.Seconds * 1_000_000_000) + ts.Nanoseconds : -1;
    }

    /// <summary>
    /// Whether thread <paramref name="tid"/> of this process sleeps now (<c>/proc/self/task/TID/stat</c>,
    /// state <c>S</c> or <c>D</c>): blocked in a wait or a system call, as opposed to running or
    /// runnable (<c>R</c>: kept off a core by the OS at most). Null when it cannot be read (the thread is
    /// gone), which callers treat as unknown.
    /// </summary>
    internal static bool? ThreadSleeps(int tid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/self/task/{tid}/stat");
        }
        catch (IOException)
        {
            return null; // unknown: the caller's diagnosis is then not made
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        int close = text.LastIndexOf(')'); // "tid (comm) S ...": comm may hold spaces and parentheses
        return close >= 0 && close + 2 < text.Length ? text[close + 2] is 'S' or 'D' : null;
    }

    /// <summary>Sets the calling thread's timer slack to 1 ns (the default 50 µs delays every timed wake).</summary>
    internal static int SetTimerSlackOneNanosecond() =>
        Prctl(PrTimerSlack, 1, 0, 0, 0) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary><c>setpriority(PRIO_PROCESS, gettid(), nice)</c>; returns 0 or the errno.</summary>
    internal static int SetNice(int nice) =>
        SetPriority(PrioProcess, (uint)GetTid(), nice) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary><c>sched_setscheduler(0, SCHED_FIFO, prio)</c> for the calling thread; returns 0 or the errno.</summary>
    internal static int SetFifo(int priority)
    {
        int param = priority;
        return SchedSetScheduler(0, SchedFifo, &param) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>
    /// FUTEX_WAIT on <paramref name="word"/> while it equals <paramref name="expected"/>, for at most
    /// <paramref name="timeoutNs"/> (negative: forever).
    /// </summary>
    internal static void FutexWait(int* word, int expected, long timeoutNs)
    {
        if (timeoutNs < 0)
        {
            Syscall(FutexNumber, word, FutexWaitPrivate, expected, null, 0, 0);
            return;
        }

        Timespec ts;
        ts.Seconds = timeoutNs / 1_000_000_000;
        ts.Nanoseconds = timeoutNs % 1_000_000_000;
        Syscall(FutexNumber, word, FutexWaitPrivate, expected, &ts, 0, 0);
    }

    /// <summary>FUTEX_WAKE one waiter on <paramref name="word"/>.</summary>
    internal static void FutexWake(int* word) => Syscall(FutexNumber, word, FutexWakePrivate, 1, null, 0, 0);

    private static long FutexNumber =>
        RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? SysFutexArm64 : SysFutexX64;

    /// <summary><c>mlockall(MCL_CURRENT | MCL_FUTURE)</c>; returns 0 or the errno.</summary>
    internal static int LockAllMemory() => MlockAll(McLCurrent | McLFuture) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary><c>munlockall()</c>: its only failure is having nothing locked, which is not one here.</summary>
    internal static void UnlockAllMemory() => _ = MunlockAll();

    /// <summary>The errno's text, e.g. "Invalid argument (EINVAL, errno 22)".</summary>
    internal static string Describe(int errno) => Name(errno) is { } name
        ? $"{Marshal.GetPInvokeErrorMessage(errno)} ({name}, errno {errno})"
        : $"{Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";

    /// <summary>The symbolic names of the errors the runtime's system calls report (asm-generic/errno-base.h).</summary>
    private static string? Name(int errno) => errno switch
    {
        1 => "EPERM",
        3 => "ESRCH",
        12 => "ENOMEM",
        13 => "EACCES",
        14 => "EFAULT",
        16 => "EBUSY",
        22 => "EINVAL",
        38 => "ENOSYS",
        _ => null,
    };
}
