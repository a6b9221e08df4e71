using Microsoft.Extensions.Logging;
using RtRuntime.Diagnostics;
using RtRuntime.Interop;

namespace RtRuntime.Cpus;

/// <summary>What a CPU thread does to itself before it dispatches: pin, OS policy, timer slack.</summary>
internal static class CpuThreadSetup
{
    /// <summary>Applies the setup on the calling CPU thread; returns an error message or null.</summary>
    public static string? Apply(Cpu cpu, RtSchedulerOptions options, ILogger logger)
    {
        if (OperatingSystem.IsLinux())
        {
            return ApplyLinux(cpu, options);
        }

        if (cpu.Core >= 0)
        {
            if (OperatingSystem.IsWindows() && cpu.Core < 64)
            {
                int error = WindowsInterop.SetCurrentThreadAffinity(CpuSet.Of(cpu.Core));
                if (error != 0)
                {
                    return $"cpu{cpu.Id}: SetThreadAffinityMask to core {cpu.Core} failed with Win32 error {error}";
                }
            }
            else
            {
                RtLog.PinningUnsupported(logger, cpu.Id);
            }
        }

        return options.CpuThreadPolicy == CpuThreadPolicy.Default
            ? null
            : $"cpu{cpu.Id}: CpuThreadPolicy {options.CpuThreadPolicy} is only supported on Linux";
    }

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static string? ApplyLinux(Cpu cpu, RtSchedulerOptions options)
    {
        cpu.OsThreadId = LinuxInterop.GetTid();
        if (cpu.Core >= 0)
        {
            int errno = LinuxInterop.SetCurrentThreadAffinity(CpuSet.Of(cpu.Core));
            if (errno != 0)
            {
                return $"cpu{cpu.Id}: sched_setaffinity to core {cpu.Core} failed: {LinuxInterop.Describe(errno)}";
            }
        }

        // The default 50 µs timer slack would delay every timed park (sleepers' deadlines).
        int slack = LinuxInterop.SetTimerSlackOneNanosecond();
        if (slack != 0)
        {
            return $"cpu{cpu.Id} (core {cpu.Core}): prctl(PR_SET_TIMERSLACK, 1) failed: {LinuxInterop.Describe(slack)}";
        }

        int policyErrno = options.CpuThreadPolicy switch
        {
            CpuThreadPolicy.Nice => LinuxInterop.SetNice(options.CpuThreadPriority),
            CpuThreadPolicy.Fifo => LinuxInterop.SetFifo(options.CpuThreadPriority),
            _ => 0,
        };
        return policyErrno == 0
            ? null
            : $"cpu{cpu.Id} (core {cpu.Core}): {options.CpuThreadPolicy} priority {options.CpuThreadPriority} failed: {LinuxInterop.Describe(policyErrno)}";
    }
}
