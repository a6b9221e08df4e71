namespace RtRuntime.Stress;

/// <summary>A stretch of time a task ran on one CPU, as recorded from its own body.</summary>
/// <param name="Group">Which run it belongs to (e.g. the balancing policy).</param>
/// <param name="Cpu">The CPU.</param>
/// <param name="Task">The task's name.</param>
/// <param name="Priority">The task's priority.</param>
/// <param name="StartMs">Start, in ms since the run began.</param>
/// <param name="EndMs">End, in ms since the run began.</param>
public sealed record TimelineSegment(string Group, int Cpu, string Task, int Priority, double StartMs, double EndMs);
