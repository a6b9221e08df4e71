using System.Runtime.InteropServices;

namespace RtRuntime.Cpus;

/// <summary>A long alone on its cache lines (128 bytes), for a counter one thread writes while others write their own.</summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct PaddedLong
{
    [FieldOffset(64)]
    public long Value;
}
