namespace RtRuntime;

/// <summary>How every accepted task ended, reported by <see cref="RtScheduler.StopAsync"/>.</summary>
/// <param name="Accepted">Tasks accepted since start.</param>
/// <param name="Completed">Tasks whose body returned.</param>
/// <param name="Faulted">Tasks whose body threw.</param>
/// <param name="Cancelled">Tasks cancelled (by their token, by <c>Cancel</c>, or at shutdown).</param>
/// <param name="Abandoned">
/// Tasks that still ran when the cancel grace expired (a body that never reaches a preemption point):
/// their CPU thread is left running. Zero in a clean stop.
/// </param>
public sealed record ShutdownSummary(long Accepted, long Completed, long Faulted, long Cancelled, long Abandoned)
{
    /// <summary>True when every accepted task ended completed, faulted or cancelled.</summary>
    public bool AllAccountedFor => Completed + Faulted + Cancelled == Accepted;
}
