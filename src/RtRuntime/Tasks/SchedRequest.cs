namespace RtRuntime.Tasks;

/// <summary>
/// A policy and priority set from another thread (<see cref="RtScheduler.SetScheduler"/>,
/// <see cref="RtScheduler.SetPriority"/>), packed into one int so that it is written, replaced and
/// taken with one atomic operation (<see cref="RtTaskRare.SchedRequest"/>): 0 is none; else bit 16
/// is set, bits 8..9 hold the policy (3: keep the task's, sched_setparam) and bits 0..7 the priority.
/// </summary>
internal static class SchedRequest
{
    private const int Present = 1 << 16;
    private const int KeepPolicy = 3;

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
    /// priority alone for a task that has become <see cref="SchedPolicy.Normal"/> meanwhile (a later
    /// policy change superseded it; a Normal task has no RT priority).
    /// </summary>
    public static bool TryDecode(int request, RtTask task, out SchedPolicy policy, out int priority)
    {
        int bits = (request >> 8) & 3;
        policy = bits == KeepPolicy ? task.Policy : (SchedPolicy)bits;
        priority = request & 0xFF;
        return request != 0 && !(bits == KeepPolicy && policy == SchedPolicy.Normal);
    }
}
