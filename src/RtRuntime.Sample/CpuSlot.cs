namespace RtRuntime.Sample;

/// <summary>
/// One CPU's statistics, a slot of <see cref="PerCpuStats"/>: written by the sampler and the housekeeping
/// worker on that CPU. <see cref="RtRuntime.PerCpu.PerCpu{T}"/> keeps slots at least 128 bytes apart,
/// so neighbouring CPUs' slots never share a cache line.
/// </summary>
internal struct CpuSlot
{
    /// <summary>Periods the sampler completed on this CPU.</summary>
    public long Samples;

    /// <summary>The sampler's worst wakeup latency on this CPU, in nanoseconds.</summary>
    public long MaxLatencyNs;

    /// <summary>Periods the sampler missed on this CPU (it was still busy, or woken too late, when they came).</summary>
    public long Overruns;

    /// <summary>Chunks of background work the housekeeping worker did on this CPU.</summary>
    public long Chunks;
}
