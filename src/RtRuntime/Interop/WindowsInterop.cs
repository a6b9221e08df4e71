using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace RtRuntime.Interop;

/// <summary>kernel32 calls for pinning CPU threads on Windows (first processor group only).</summary>
[SupportedOSPlatform("windows")]
internal static partial class WindowsInterop
{
    [LibraryImport("kernel32.dll")]
    private static partial nint GetCurrentThread();

    [LibraryImport("kernel32.dll", SetLastError = true)]
    private static partial nuint SetThreadAffinityMask(nint thread, nuint mask);

    /// <summary>Pins the calling thread to the cores in the set (ids below 64); returns 0 or the Win32 error.</summary>
    internal static int SetCurrentThreadAffinity(Cpus.CpuSet cores)
    {
        nuint mask = (nuint)cores.Word(0);
        return SetThreadAffinityMask(GetCurrentThread(), mask) != 0 ? 0 : Marshal.GetLastPInvokeError();
    }
}
