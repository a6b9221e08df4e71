namespace RtRuntime.Stress;

/// <summary>The names of the invariants the harness checks (stable: they appear in reports and exit messages).</summary>
public static class Invariants
{
    /// <summary>Every accepted task ended completed, faulted or cancelled, and the runtime's counts match the harness's.</summary>
    public const string AllTasksAccounted = "all-tasks-accounted";

    /// <summary>Every task ended the way its script allows (a fault only when injected, a cancel only when requested).</summary>
    public const string ExpectedOutcome = "expected-outcome";

    /// <summary>Every CPU's nr_pinned is back to 0 once the tasks ended.</summary>
    public const string NrPinnedZero = "nr-pinned-zero";

    /// <summary>No kernel-style BUG was reported (unless the run injects one).</summary>
    public const string NoBugReports = "no-bug-reports";

    /// <summary>A task never changes CPU inside a migrate-disabled section.</summary>
    public const string MigrateDisabledStays = "migrate-disabled-stays";

    /// <summary>A task runs only on CPUs in its affinity.</summary>
    public const string AffinityRespected = "affinity-respected";

    /// <summary>The runtime stopped cleanly: no task abandoned, none still live after the drain.</summary>
    public const string CleanStop = "clean-stop";
}
