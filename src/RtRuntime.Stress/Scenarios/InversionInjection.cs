namespace RtRuntime.Stress;

/// <summary>A defect the inversion scenario can inject on purpose, to show its check catches it (the run then fails).</summary>
public enum InversionInjection
{
    /// <summary>Nothing injected.</summary>
    None = 0,

    /// <summary>
    /// The RtMutex rounds take the RtSemaphore(1) instead, a lock with no owner and so no priority
    /// inheritance, and are still checked as RtMutex rounds: the middle task runs while the high task
    /// waits, as under a mutex whose inheritance is broken (<see cref="Invariants.PriorityInheritanceBounds"/>).
    /// </summary>
    NoInheritance = 1,
}
