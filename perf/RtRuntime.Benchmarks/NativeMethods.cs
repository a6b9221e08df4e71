using System.Runtime.InteropServices;

namespace RtRuntime.Benchmarks;

/// <summary>Linux calls the benchmarks need beside the runtime's own.</summary>
internal static class NativeMethods
{
    /// <summary>
    /// Pins the calling thread to <paramref name="core"/> (Linux; elsewhere a no-op), so a thread that
    /// feeds a runtime CPU never shares that CPU's core: left to the OS it sometimes does, and
    /// spawn-and-run swings ±40 % between runs.
    /// </summary>
    public static void PinCallingThread(int core)
    {
        if (!OperatingSystem.IsLinux() || core >= Environment.ProcessorCount)
        {
            return;
        }

        ulong mask = 1UL << core;
        if (SchedSetAffinity(0, sizeof(ulong), ref mask) != 0)
        {
            throw new InvalidOperationException($"sched_setaffinity(core {core}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [DllImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static extern int SchedSetAffinity(int pid, nint size, ref ulong mask);
}
