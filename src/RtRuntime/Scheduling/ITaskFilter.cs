using RtRuntime.Tasks;

namespace RtRuntime.Scheduling;

/// <summary>
/// A run-queue scan's test, as a struct so the scan allocates nothing (a lambda capturing the pull's
/// inputs would allocate a closure at every dispatcher turn). Used through <see cref="RunQueue.FindFirst{TFilter}"/>.
/// </summary>
internal interface ITaskFilter
{
    /// <summary>True to stop the scan at <paramref name="task"/>.</summary>
    bool Take(RtTask task);
}
