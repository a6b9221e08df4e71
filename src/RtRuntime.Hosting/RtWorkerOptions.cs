using RtRuntime.Tasks;

namespace RtRuntime.Hosting;

/// <summary>
/// How an <see cref="RtWorker"/> is scheduled, bound from <c>RtRuntime:Workers:&lt;name&gt;</c> and
/// validated at host start.
/// </summary>
public sealed class RtWorkerOptions
{
    /// <summary>The RT priority: 1..99 (99 highest) for Fifo and RoundRobin, 0 for Normal. Default 50 (the kernel's threaded-IRQ priority).</summary>
    public int Priority { get; set; } = 50;

    /// <summary>The scheduling policy. Default <see cref="SchedPolicy.Fifo"/>.</summary>
    public SchedPolicy Policy { get; set; } = SchedPolicy.Fifo;

    /// <summary>
    /// The CPUs the worker may run on as a kernel cpulist (<c>0-3,8</c>), in the runtime's logical CPU ids
    /// (0..CpuCount−1). Default (null or empty): every CPU.
    /// </summary>
    public string? Affinity { get; set; }
}
