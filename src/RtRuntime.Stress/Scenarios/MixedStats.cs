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
    public long SpawnRefused; // spawns refused: the script's affinity had no active CPU at the call (hotplug churn; EINVAL)
    public long AffinityWidened;
    public long TimedWaitsGot;
    public long TimedWaitsTimedOut;
    public long LockSections;
    public long BoostedSections; // lock sections whose holder was boosted by a waiter when it unlocked
    public long PriorityChanges;
    public long CrossPriorityChanges; // set by the spawning thread on live tasks (RtScheduler.SetPriority)
    public long CrossPolicyChanges; // FIFO or RR with a priority, set by the spawning thread (RtScheduler.SetScheduler)

    /// <summary>Incremented inside every migrate-disabled section (null: not checked).</summary>
    public PerCpuCounter? Counter { get; init; }

    /// <summary>A per-CPU slot incremented inside every migrate-disabled section (null: not checked).</summary>
    public PerCpu<long>? Slots { get; init; }

    /// <summary>The runtime, for the in-body online check during hotplug churn (null: no churn).</summary>
    public RtScheduler? HotplugRuntime { get; init; }

    /// <summary>The few permits the scripts' timed waits compete for (<see cref="PermitCount"/> of them, all back once the tasks ended).</summary>
    public Tasks.RtSemaphore? Permits { get; init; }

    public int PermitCount { get; init; }

    /// <summary>The local lock the scripts' lock sections take (null: no lock sections run).</summary>
    public LocalLock? Lock { get; init; }

    /// <summary>A per-CPU slot each lock section reads, holds across its steps and writes back plus one, under <see cref="Lock"/>.</summary>
    public PerCpu<long>? LockSlots { get; init; }

    /// <summary>The lock sections that wrote their slot back (the slots' sum must equal it).</summary>
    public long LockedIncrements;

    /// <summary>The RtMutex the scripts' mutex sections take, from any CPU, and its counter (null: no mutex sections run).</summary>
    public MutexedCounter? Mutex { get; init; }

    public long MutexBoostedSections; // mutex sections whose holder was boosted by a waiter when it unlocked

    /// <summary>The second RtMutex, taken only inside a section of <see cref="Mutex"/> (one order): its waiters make PI chains.</summary>
    public MutexedCounter? InnerMutex { get; init; }
}
