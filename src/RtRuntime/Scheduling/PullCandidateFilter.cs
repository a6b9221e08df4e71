using RtRuntime.Tasks;

namespace RtRuntime.Scheduling;

/// <summary>
/// pull_rt_task's choice of a queued task for one puller over a threaded run queue: the shared
/// <see cref="PullScan"/> (the first task that <see cref="BalanceRules.CanPull"/>; a migrate-disabled
/// candidate is passed over and remembered as <see cref="Pinned"/>, a pile-up), as the simulator's pull does.
/// </summary>
internal struct PullCandidateFilter(int puller, int pullerQueuedTop, int sourceRunningPrio) : ITaskFilter
{
    /// <summary>The shared scan.</summary>
    public PullScan Scan = new(puller, pullerQueuedTop, sourceRunningPrio);

    /// <summary>The first migrate-disabled candidate passed over, or null.</summary>
    public RtTask? Pinned;

    /// <inheritdoc/>
    public bool Take(RtTask task)
    {
        bool noneYet = Scan.PinnedPrio < 0;
        if (Scan.Take(task.Prio, task.AffinityMask, task.MigrationDisabled))
        {
            return true;
        }

        if (noneYet && Scan.PinnedPrio >= 0)
        {
            Pinned = task;
        }

        return false;
    }
}
