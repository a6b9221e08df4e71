using System.Runtime.InteropServices;

namespace RtRuntime.Cpus;

/// <summary>
/// A CPU's hotplug state (the kernel's <c>cpu_active_mask</c> and <c>cpu_online_mask</c> bits), read
/// without locks by every placement and written only by hotplug: on a cache line of its own, so a
/// waker that only needs "is the task's one CPU active" does not pull the line the CPU rewrites
/// whenever its running priority changes (<see cref="CpuPri"/>).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct CpuOnlineState
{
    /// <summary>cpu_active (1/0).</summary>
    [FieldOffset(64)]
    public int Active;

    /// <summary>cpu_online (1/0).</summary>
    [FieldOffset(68)]
    public int Online;
}
