namespace RtRuntime.Stress;

/// <summary>One step of a mixed-scenario task script.</summary>
/// <param name="Kind">What the step does.</param>
/// <param name="Ns">Work or sleep length in ns; the new priority of a <see cref="MixedOpKind.SetPriority"/>; which RtMutex a <see cref="MixedOpKind.MutexSection"/> takes (0: the run's first, 1: the second, taken only inside the first's section); for a <see cref="MixedOpKind.LockSection"/>, 1 when it is inside the first RtMutex's section.</param>
/// <param name="Inner">The steps inside a section.</param>
internal readonly record struct MixedOp(MixedOpKind Kind, long Ns, MixedOp[]? Inner = null);
