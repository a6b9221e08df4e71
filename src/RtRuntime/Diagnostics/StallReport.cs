namespace RtRuntime;

/// <summary>A stall: a task that held its CPU without passing a preemption point, or a need_resched left pending.</summary>
/// <param name="Kind">"stall" (no preemption point for <paramref name="Duration"/>) or "resched-latency" (LATENCY_WARN).</param>
/// <param name="TaskName">The running task's name.</param>
/// <param name="TaskId">The running task's id.</param>
/// <param name="Cpu">The CPU.</param>
/// <param name="Duration">How long, at the time of the report.</param>
public sealed record StallReport(string Kind, string TaskName, long TaskId, int Cpu, TimeSpan Duration)
{
    /// <summary>
    /// How much of <see cref="Duration"/> the CPU's OS thread actually ran, from its per-thread CPU clock
    /// (Linux; null elsewhere). Close to <see cref="Duration"/>: the task itself held the CPU. Much less:
    /// the thread was off its core (blocked in a system call inside the task, or the OS or the hypervisor
    /// gave the core to something else), so the stall is not only the task's doing.
    /// </summary>
    public TimeSpan? ThreadCpuTime { get; init; }

    /// <summary>
    /// The stalled step has work posted to its own task waiting (continuations of the task's own awaits,
    /// which run only on its CPU thread once the step ends), and for most of the stall its CPU thread
    /// neither ran nor was paused by the GC: the step most likely waits synchronously on async work that
    /// resumes on this task (<c>.Result</c>, <c>.Wait()</c>, <c>GetAwaiter().GetResult()</c> on a Task
    /// the task started), which can never finish on this CPU; await it instead. The thread must also
    /// sleep at the report (not merely be kept off its core by the OS). A step blocked for another reason
    /// while an unrelated continuation waits looks the same to this test. Known only with the thread's
    /// CPU clock and state (Linux; false elsewhere). When the posted work arrives after the threshold, a
    /// second stall report for the same step carries it.
    /// </summary>
    public bool WaitsOnItsOwnPostedWork { get; init; }

    /// <summary>
    /// How long the .NET GC paused every managed thread, this CPU's included, during the stall
    /// (<see cref="GC.GetTotalPauseDuration"/> over it, sampled by the rebalancer; stall reports only).
    /// A large share of <see cref="Duration"/>: the GC, not the task, held the CPU.
    /// </summary>
    public TimeSpan? GcPauseTime { get; init; }
}
