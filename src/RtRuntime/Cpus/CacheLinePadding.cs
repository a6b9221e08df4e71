using System.Runtime.InteropServices;

namespace RtRuntime.Cpus;

/// <summary>
/// 128 bytes of nothing (two cache lines: adjacent-line prefetch pairs lines on x86). A per-CPU object
/// ends with one, so that the hot fields of two CPUs' objects allocated one after the other never
/// share a line (the runtime lays reference fields first and struct fields last).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct CacheLinePadding
{
}
