namespace RtRuntime;

/// <summary>
/// How every accepted task ended, reported by <see cref="RtScheduler.StopAsync"/>. The counts are of the
/// user's tasks (spawned, <c>RunAsync</c>): the runtime's own <c>&lt;name&gt;/posted</c> tasks, which run
/// work posted to an ended task or to the RunAsync context, are in <see cref="Posted"/> only.
/// </summary>
/// <remarks>
/// A stop that abandoned nothing reports exact counts (read from ends that no longer move). A stop that
/// abandoned tasks reads <see cref="Accepted"/> and <see cref="Posted"/> from the admission counts, which
/// a refusal racing the summary still moves for a moment (a spawn counts itself and then its refusal;
/// a post to an ended task counts its drain and then takes it back): such a refusal can show
/// <see cref="Accepted"/> and <see cref="Abandoned"/> one higher, or one task moved from
/// <see cref="Accepted"/> to <see cref="Posted"/>. An exact read would need every spawn's admission to
/// take a lock or a sequence count (the admission is on the spawn's hot path).
/// </remarks>
/// <param name="Accepted">Tasks accepted since start.</param>
/// <param name="Completed">Tasks whose body returned.</param>
/// <param name="Faulted">Tasks whose body threw.</param>
/// <param name="Cancelled">Tasks cancelled (by their token, by <c>Cancel</c>, or at shutdown).</param>
/// <param name="Abandoned">
/// Tasks that still ran when the cancel grace expired (a body that never reaches a preemption point):
/// their CPU thread is left running. Zero in a clean stop. A runtime's own <c>&lt;name&gt;/posted</c> task
/// still running posted work then counts here too (its CPU thread is left running that work).
/// </param>
public sealed record ShutdownSummary(long Accepted, long Completed, long Faulted, long Cancelled, long Abandoned)
{
    /// <summary>True when every accepted task ended completed, faulted or cancelled.</summary>
    public bool AllAccountedFor => Completed + Faulted + Cancelled == Accepted;

    /// <summary>
    /// The runtime's own <c>&lt;name&gt;/posted</c> tasks started since start: each ran work posted to a
    /// task after it ended (a continuation of an async call it did not await, a raw
    /// <c>SynchronizationContext.Post</c>) or to the RunAsync context (the rest of a pooled body after a
    /// foreign await). Not in <see cref="Accepted"/> and the counts of final states, which are of the
    /// user's tasks; work that threw there is logged (its exception has no other owner).
    /// </summary>
    public long Posted { get; init; }
}
