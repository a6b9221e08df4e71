using RtRuntime.PerCpu;

namespace RtRuntime.Stress;

/// <summary>Counters the mixed scenario's tasks update (Interlocked; read for progress and figures), and the per-CPU data they update.</summary>
internal sealed class MixedStats
{
    public long Spawned;
    public long Pooled; // of Spawned, through RunAsync
    public long MigrateSections;
    public long PreemptSections;
    public long PerCpuIncrements;
    public long AffinityChanges;
    public long AffinityRefused; // refused: the mask had no online CPU (EINVAL)
    public long AffinityWidened;
    public long TimedWaitsGot;
    public long TimedWaitsTimedOut;

    /// <summary>Incremented inside every migrate-disabled section (null: not checked).</summary>
    public PerCpuCounter? Counter { get; init; }

    /// <summary>A per-CPU slot incremented inside every migrate-disabled section (null: not checked).</summary>
    public PerCpu<long>? Slots { get; init; }

    /// <summary>The runtime, for the in-body online check during hotplug churn (null: no churn).</summary>
    public RtScheduler? HotplugRuntime { get; init; }

    /// <summary>The few permits the scripts' timed waits compete for (<see cref="PermitCount"/> of them, all back once the tasks ended).</summary>
    public Tasks.RtSemaphore? Permits { get; init; }

    public int PermitCount { get; init; }
}
