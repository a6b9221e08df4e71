using RtRuntime.Interop;

namespace RtRuntime.Memory;

/// <summary>
/// <c>mlockall(MCL_CURRENT | MCL_FUTURE)</c> for the process while at least one runtime started with
/// <see cref="RtSchedulerOptions.LockMemory"/> runs, as <c>cyclictest -m</c> and PREEMPT_RT applications
/// lock theirs: every page the process has, and every page it maps from then on, is faulted in once and
/// stays resident, so no task takes a page fault on memory it touched before (the GC's returned gen0
/// pages included: a locked page cannot be dropped with <c>MADV_DONTNEED</c>). The lock is the
/// process's, so it is counted: the last runtime that asked for it undoes it (<c>munlockall</c>) when it stops.
/// </summary>
internal static class MemoryLock
{
    private static readonly Lock s_gate = new();
    private static int s_holders;

    /// <summary>Takes one hold; null on success, else what the OS said (the lock is then not held).</summary>
    public static string? Acquire()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null; // the caller logs that the option does nothing here
        }

        lock (s_gate)
        {
            if (s_holders == 0)
            {
                int errno = LinuxInterop.LockAllMemory();
                if (errno != 0)
                {
                    return $"mlockall(MCL_CURRENT | MCL_FUTURE) failed: {LinuxInterop.Describe(errno)}; it needs CAP_IPC_LOCK or an RLIMIT_MEMLOCK (ulimit -l) above the process's size";
                }
            }

            s_holders++;
            return null;
        }
    }

    /// <summary>Drops one hold taken by <see cref="Acquire"/>; the last one unlocks the process's memory.</summary>
    public static void Release()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        lock (s_gate)
        {
            if (--s_holders == 0)
            {
                LinuxInterop.UnlockAllMemory();
            }
        }
    }
}
