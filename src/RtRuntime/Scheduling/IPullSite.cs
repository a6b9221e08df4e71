namespace RtRuntime.Scheduling;

/// <summary>
/// What <see cref="PullRounds"/> reads of the CPUs and asks of its driver (the threaded
/// <see cref="Balancer"/> or the simulator): a struct, so the rounds allocate nothing.
/// </summary>
internal interface IPullSite
{
    /// <summary>The number of CPUs (ids 0..CpuCount−1).</summary>
    int CpuCount { get; }

    /// <summary>The highest priority queued on <paramref name="cpu"/>, or −1.</summary>
    int QueuedTop(int cpu);

    /// <summary>The highest queued priority on <paramref name="cpu"/> among tasks that may run elsewhere (rt-overload), or −1.</summary>
    int PushableTop(int cpu);

    /// <summary>One source's pull (<see cref="PullScan"/> under the source's and the puller's locks); true when a task was pulled.</summary>
    bool PullFrom(int source);
}
