namespace RtRuntime;

/// <summary>What the balancer does about migrate-disable pile-ups (see docs/balancing.md).</summary>
public enum BalancePolicy
{
    /// <summary>
    /// Repair a pile-up as soon as any CPU (idle included) could take the running higher-priority
    /// task: move the runner away so the pinned task can resume. Better than mainline.
    /// </summary>
    WorkConserving = 0,

    /// <summary>Repair a pile-up only when a CPU pulls (drops its priority), as mainline's a7c81556ec4d does.</summary>
    KernelFaithful = 1,

    /// <summary>Never move the running task: the ablation that shows the bandwidth lost.</summary>
    NoPushRunning = 2,
}
