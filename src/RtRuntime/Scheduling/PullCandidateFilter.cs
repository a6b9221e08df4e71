using RtRuntime.Tasks;

namespace RtRuntime.Scheduling;

/// <summary>
/// pull_rt_task's choice of a queued task for one puller: the first that <see cref="BalanceRules.CanPull"/>
/// (<see cref="BalanceRules.IsPullCandidate"/> and migratable). A migrate-disabled candidate is passed over
/// (it cannot move) and remembered as <see cref="Pinned"/> (a pile-up), so a migratable task queued behind
/// it is still pulled, as the simulator's Pull does.
/// </summary>
internal struct PullCandidateFilter(int puller, int pullerQueuedTop, int sourceRunningPrio) : ITaskFilter
{
    /// <summary>The first migrate-disabled candidate passed over, or null.</summary>
    public RtTask? Pinned;

    /// <inheritdoc/>
    public bool Take(RtTask task)
    {
        if (BalanceRules.CanPull(task.Prio, task.AffinityMask, task.MigrationDisabled, puller, pullerQueuedTop, sourceRunningPrio))
        {
            return true;
        }

        if (task.MigrationDisabled > 0 && BalanceRules.IsPullCandidate(task.Prio, task.AffinityMask, puller, pullerQueuedTop, sourceRunningPrio))
        {
            Pinned ??= task; // a candidate but for its pin: a pile-up
        }

        return false;
    }
}
