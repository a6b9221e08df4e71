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

    /// <summary>
    /// Never move the running task to repair a pile-up: the ablation that shows the bandwidth lost. (A
    /// runner is still moved for <c>check_preempt_equal_prio</c>, which is not a pile-up repair.)
    /// </summary>
    NoPushRunning = 2,
}
