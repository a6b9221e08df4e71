using RtRuntime.Tasks;

namespace RtRuntime.Scheduling;

/// <summary>A queued task whose affinity allows one CPU, pinned or not (lost-bandwidth accounting).</summary>
internal readonly struct AllowedOnFilter(int cpuId) : ITaskFilter
{
    /// <inheritdoc/>
    public bool Take(RtTask task) => task.AffinityMask.Contains(cpuId);
}
