using RtRuntime.Scheduling;

namespace RtRuntime.Simulation;

/// <summary>The simulator's <see cref="IPullSite"/>: the engine's CPUs and its <see cref="SimEngine.PullFrom"/>, as the threaded Balancer's site.</summary>
internal readonly struct SimPullSite(SimEngine engine, SimCpu self, int droppedFrom) : IPullSite
{
    /// <inheritdoc/>
    public int CpuCount => engine.CpuCount;

    /// <inheritdoc/>
    public int QueuedTop(int cpu) => engine.QueuedTop(cpu);

    /// <inheritdoc/>
    public int PushableTop(int cpu) => engine.PushableTop(cpu);

    /// <inheritdoc/>
    public bool PullFrom(int source) => engine.PullFrom(engine.Cpu(source), self, droppedFrom);
}
