namespace RtRuntime;

/// <summary>A stall: a task that held its CPU without passing a preemption point, or a need_resched left pending.</summary>
/// <param name="Kind">"stall" (no preemption point for <paramref name="Duration"/>) or "resched-latency" (LATENCY_WARN).</param>
/// <param name="TaskName">The running task's name.</param>
/// <param name="TaskId">The running task's id.</param>
/// <param name="Cpu">The CPU.</param>
/// <param name="Duration">How long, at the time of the report.</param>
public sealed record StallReport(string Kind, string TaskName, long TaskId, int Cpu, TimeSpan Duration);
