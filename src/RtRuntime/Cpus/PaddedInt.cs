using System.Runtime.InteropServices;

namespace RtRuntime.Cpus;

/// <summary>
/// An int alone on its cache lines (128 bytes: adjacent-line prefetch pairs lines on x86). Holds a
/// word that remote threads write (Interlocked) and the running task reads at every preemption point.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct PaddedInt
{
    [FieldOffset(64)]
    public int Value;
}
