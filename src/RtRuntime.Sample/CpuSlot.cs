using System.Runtime.InteropServices;

namespace RtRuntime.Sample;

/// <summary>
/// One CPU's statistics. 128 bytes: two cache lines, so neighbouring CPUs' slots never share a line
/// (adjacent-line prefetch pairs lines on x86).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct CpuSlot
{
    /// <summary>Periods the sampler completed on this CPU.</summary>
    [FieldOffset(0)] public long Samples;

    /// <summary>The sampler's worst wakeup latency on this CPU, in nanoseconds.</summary>
    [FieldOffset(8)] public long MaxLatencyNs;

    /// <summary>Chunks of background work the housekeeping worker did on this CPU.</summary>
    [FieldOffset(16)] public long Chunks;
}
