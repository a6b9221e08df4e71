namespace RtRuntime.Stress;

/// <summary>A defect the mixed scenario can inject on purpose, to show the checker catches it (the run then fails).</summary>
public enum MixedInjection
{
    /// <summary>Nothing injected.</summary>
    None = 0,

    /// <summary>One task awaits a foreign <c>Task.Delay</c> inside a preempt-disabled section: a real "scheduling while atomic" BUG report from the runtime (<see cref="Invariants.NoBugReports"/>).</summary>
    Bug = 1,

    /// <summary>One task reports a CPU change inside its migrate-disabled section as if it had moved (<see cref="Invariants.MigrateDisabledStays"/>).</summary>
    Pinned = 2,
}
