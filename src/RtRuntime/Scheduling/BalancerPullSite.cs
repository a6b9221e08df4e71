using RtRuntime.Cpus;

namespace RtRuntime.Scheduling;

/// <summary>The threaded runtime's <see cref="IPullSite"/>: racy reads of the CPUs' published priorities, and <see cref="Balancer.PullFrom"/>.</summary>
internal readonly struct BalancerPullSite(Balancer balancer, Cpu self, int droppedFrom) : IPullSite
{
    private readonly Cpu[] _cpus = self.Scheduler.Cpus;

    /// <inheritdoc/>
    public int CpuCount => _cpus.Length;

    /// <inheritdoc/>
    public int QueuedTop(int cpu) => _cpus[cpu].QueuedTop;

    /// <inheritdoc/>
    public int PushableTop(int cpu) => _cpus[cpu].PushableTop;

    /// <inheritdoc/>
    public bool PullFrom(int source) => balancer.PullFrom(_cpus[source], self, droppedFrom);
}
