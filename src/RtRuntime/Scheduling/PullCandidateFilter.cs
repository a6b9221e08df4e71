using RtRuntime.Tasks;

namespace RtRuntime.Scheduling;

/// <summary>pull_rt_task's choice of a queued task: <see cref="BalanceRules.IsPullCandidate"/> for one puller.</summary>
internal readonly struct PullCandidateFilter(int puller, int pullerQueuedTop, int sourceRunningPrio) : ITaskFilter
{
    /// <inheritdoc/>
    public bool Take(RtTask task) => BalanceRules.IsPullCandidate(task.Prio, task.AffinityMask, puller, pullerQueuedTop, sourceRunningPrio);
}
