namespace RtRuntime;

/// <summary>A kernel-style BUG found at run time: what, in which task, on which CPU.</summary>
/// <param name="Kind">The kind of BUG.</param>
/// <param name="TaskName">The offending task's name.</param>
/// <param name="TaskId">The offending task's id.</param>
/// <param name="Cpu">The CPU it ran on.</param>
/// <param name="Message">The kernel-style message, e.g. "BUG: scheduling while atomic: worker/7/0x00000001".</param>
public sealed record BugReport(BugKind Kind, string TaskName, long TaskId, int Cpu, string Message);
