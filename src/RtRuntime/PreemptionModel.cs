namespace RtRuntime;

/// <summary>Which kernel configuration the guards follow.</summary>
public enum PreemptionModel
{
    /// <summary>
    /// PREEMPT_RT (and mainline since v5.11): migrate_disable() is its own guard. The task stays on
    /// its CPU but may still be preempted by higher-priority tasks there.
    /// </summary>
    Rt = 0,

    /// <summary>
    /// Non-realtime kernels as the patch set described them: migrate_disable() maps to
    /// preempt_disable(), so a migrate-disabled task is never switched out.
    /// </summary>
    NonRt = 1,
}
