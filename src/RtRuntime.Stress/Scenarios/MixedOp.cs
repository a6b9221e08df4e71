namespace RtRuntime.Stress;

/// <summary>One step of a mixed-scenario task script.</summary>
/// <param name="Kind">What the step does.</param>
/// <param name="Ns">Work or sleep length in ns; the new priority of a <see cref="MixedOpKind.SetPriority"/>; which RtMutex a <see cref="MixedOpKind.MutexSection"/> takes (0: the run's first, 1: the second, taken only inside the first's section); for a <see cref="MixedOpKind.LockSection"/>, 1 when it is inside the first RtMutex's section.</param>
/// <param name="Inner">The steps inside a section.</param>
/// <param name="WaitNs">How a <see cref="MixedOpKind.MutexSection"/> takes its mutex: −1 waits as long as it takes (<c>LockAsync</c>), 0 tries once (<c>TryLock</c>), above 0 waits at most that many ns (<c>WaitAsync</c> with a timeout); a section whose mutex it did not get is skipped.</param>
internal readonly record struct MixedOp(MixedOpKind Kind, long Ns, MixedOp[]? Inner = null, long WaitNs = -1);
