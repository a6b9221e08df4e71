using RtRuntime.Cpus;

namespace RtRuntime.Scheduling;

/// <summary>
/// pull_rt_task's look at one source CPU's queue (pick_highest_pushable_task), shared by the threaded
/// <see cref="Balancer"/> (through <see cref="PullCandidateFilter"/>) and the simulator: fed the source's
/// pushable tasks in queue order (highest priority first, FIFO among equals) above the puller's queue,
/// it takes the first that <see cref="BalanceRules.CanPull"/> and remembers the first migrate-disabled
/// candidate it passed over (<see cref="PinnedPrio"/>), so a movable task queued behind a pinned one is
/// still pulled.
/// </summary>
/// <param name="puller">The pulling CPU's id.</param>
/// <param name="pullerQueuedTop">The highest priority queued on the puller, or −1.</param>
/// <param name="sourceRunningPrio">The priority running on the source CPU, or −1.</param>
internal struct PullScan(int puller, int pullerQueuedTop, int sourceRunningPrio)
{
    /// <summary>The priority of the first migrate-disabled candidate passed over, or −1.</summary>
    public int PinnedPrio = -1;

    /// <summary>True to pull this task (and stop the scan).</summary>
    /// <param name="prio">The queued task's priority.</param>
    /// <param name="mask">The queued task's requested affinity.</param>
    /// <param name="migrationDisabled">The queued task's migrate-disable depth.</param>
    public bool Take(int prio, CpuSet mask, int migrationDisabled)
    {
        if (BalanceRules.CanPull(prio, mask, migrationDisabled, puller, pullerQueuedTop, sourceRunningPrio))
        {
            return true;
        }

        if (PinnedPrio < 0 && migrationDisabled > 0 && BalanceRules.IsPullCandidate(prio, mask, puller, pullerQueuedTop, sourceRunningPrio))
        {
            PinnedPrio = prio; // a candidate but for its pin: a pile-up
        }

        return false;
    }

    /// <summary>
    /// The pinned candidate passed over makes this source a pile-up to repair: it outranks what was
    /// pulled from the source (<paramref name="pulledPrio"/>, −1 when nothing was).
    /// </summary>
    public readonly bool PileUp(int pulledPrio) => PinnedPrio >= 0 && (pulledPrio < 0 || PinnedPrio > pulledPrio);
}
