namespace RtRuntime.Tasks;

/// <summary>
/// A policy and priority set from another thread (<see cref="RtScheduler.SetScheduler"/>,
/// <see cref="RtScheduler.SetPriority"/>), packed into one int so that it is written, replaced and
/// taken with one atomic operation (<see cref="RtTaskRare.SchedRequest"/>): 0 is none; else bit 16
/// is set, bits 8..9 hold the policy (3: keep the task's, sched_setparam) and bits 0..7 the priority.
/// The policy kept with priority 0 sets nothing: the effective priority is to be computed again, as an
/// <see cref="RtMutex"/>'s boost changed (<see cref="Recompute"/>); bit 17 is flipped by each such post
/// so that an owner applying the request meanwhile sees it replaced and applies it again.
/// </summary>
internal static class SchedRequest
{
    private const int Present = 1 << 16;
    private const int KeepPolicy = 3;
    private const int Toggle = 1 << 17;

    /// <summary>
    /// What a boost's change leaves for the task's owner, given the request <paramref name="seen"/> there:
    /// a recompute alone when none waits, else the waiting request with bit 17 flipped (every request
    /// makes its owner compute the effective priority again after it is taken).
    /// </summary>
    public static int Recompute(int seen) => seen == 0 ? Present | (KeepPolicy << 8) : seen ^ Toggle;

    /// <summary>sched_setscheduler: <paramref name="policy"/> at <paramref name="priority"/> (validated by the caller).</summary>
    public static int Of(SchedPolicy policy, int priority) => Present | ((int)policy << 8) | priority;

    /// <summary>sched_setparam: <paramref name="priority"/>, under whatever policy the task has when the request is applied.</summary>
    public static int OfPriority(int priority) => Present | (KeepPolicy << 8) | priority;

    /// <summary>The policy <paramref name="request"/> sets, or null when none or a priority alone.</summary>
    public static SchedPolicy? PolicyOf(int request)
    {
        int bits = (request >> 8) & 3;
        return request == 0 || bits == KeepPolicy ? null : (SchedPolicy)bits;
    }

    /// <summary>
    /// What <paramref name="request"/> sets on <paramref name="task"/> now; false when nothing: a
    /// <see cref="Recompute"/>, or a priority alone for a task that has become
    /// <see cref="SchedPolicy.Normal"/> meanwhile (a later policy change superseded it; a Normal task
    /// has no RT priority).
    /// </summary>
    public static bool TryDecode(int request, RtTask task, out SchedPolicy policy, out int priority)
    {
        int bits = (request >> 8) & 3;
        policy = bits == KeepPolicy ? task.Policy : (SchedPolicy)bits;
        priority = request & 0xFF;
        return request != 0 && !(bits == KeepPolicy && (priority == 0 || policy == SchedPolicy.Normal));
    }
}
