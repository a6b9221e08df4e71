using RtRuntime.Tasks;

namespace RtRuntime.Hosting;

/// <summary>
/// How an <see cref="RtWorker"/> is scheduled, bound from <c>RtRuntime:Workers:&lt;name&gt;</c> and
/// validated at host start.
/// </summary>
public sealed class RtWorkerOptions
{
    /// <summary>The RT priority a Fifo or RoundRobin worker gets when none is set: the kernel's threaded-IRQ priority.</summary>
    internal const int DefaultRtPriority = 50;

    /// <summary>
    /// The RT priority: 1..99 (99 highest) for Fifo and RoundRobin, 0 for Normal (the normal class has no
    /// RT priority, as <c>sched_setscheduler(SCHED_NORMAL)</c> requires <c>sched_priority</c> 0; this runtime
    /// has no nice levels). Default null (unset): the policy's default, 50 (the kernel's threaded-IRQ
    /// priority) for Fifo and RoundRobin, 0 for Normal, so that <c>Policy: Normal</c> alone configures a
    /// valid worker; a value set explicitly is kept, and one the policy does not allow fails start.
    /// </summary>
    /// <remarks>
    /// Nullable rather than an <see cref="int"/> whose getter supplies the default: the configuration
    /// binder writes every property's getter value back through its setter, which would turn the default
    /// into an explicit value before <see cref="Policy"/> is bound.
    /// </remarks>
    public int? Priority { get; set; }

    /// <summary>The scheduling policy. Default <see cref="SchedPolicy.Fifo"/>.</summary>
    public SchedPolicy Policy { get; set; } = SchedPolicy.Fifo;

    /// <summary>
    /// The CPUs the worker may run on as a kernel cpulist (<c>0-3,8</c>), in the runtime's logical CPU ids
    /// (0..CpuCount−1). Default (null or empty): every CPU.
    /// </summary>
    public string? Affinity { get; set; }

    /// <summary>The priority the worker is spawned with: <see cref="Priority"/>, or the policy's default when unset.</summary>
    internal int EffectivePriority => Priority ?? (Policy == SchedPolicy.Normal ? 0 : DefaultRtPriority);
}
