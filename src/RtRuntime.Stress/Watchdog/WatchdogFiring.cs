namespace RtRuntime.Stress;

/// <summary>
/// What the scenario watchdog saw and did when it fired (<see cref="ScenarioResult.Watchdog"/>): why, when,
/// the snapshot of each runtime the scenario still had running, and what happened after it cancelled
/// the scenario. The report folder gets it as <c>&lt;scenario&gt;-watchdog.json</c>.
/// </summary>
public sealed class WatchdogFiring
{
    /// <summary>Creates the record of one firing.</summary>
    /// <param name="reason">Why it fired (past the deadline, or not ended after an interruption).</param>
    /// <param name="planned">The scenario's planned time.</param>
    /// <param name="grace">The grace past the planned time.</param>
    /// <param name="firedAfter">How long after the scenario's start it fired.</param>
    /// <param name="snapshots">The snapshot of each runtime of the scenario that was still running.</param>
    public WatchdogFiring(string reason, TimeSpan planned, TimeSpan grace, TimeSpan firedAfter, IReadOnlyList<RuntimeSnapshot> snapshots)
    {
        ArgumentNullException.ThrowIfNull(reason);
        ArgumentNullException.ThrowIfNull(snapshots);
        Reason = reason;
        Planned = planned;
        Grace = grace;
        FiredAfter = firedAfter;
        Snapshots = snapshots;
    }

    /// <summary>Why it fired, e.g. <c>still running 32.1 s after it started (deadline 32.0 s: …)</c>.</summary>
    public string Reason { get; }

    /// <summary>The scenario's planned time (<see cref="StressScenario.PlannedDuration"/>).</summary>
    public TimeSpan Planned { get; }

    /// <summary>The grace past the planned time (<see cref="StressSettings.WatchdogGrace"/> or its default).</summary>
    public TimeSpan Grace { get; }

    /// <summary>How long after the scenario's start the watchdog fired.</summary>
    public TimeSpan FiredAfter { get; }

    /// <summary>The /proc view of each runtime the scenario still had running, taken before anything was cancelled.</summary>
    public IReadOnlyList<RuntimeSnapshot> Snapshots { get; }

    /// <summary>What the watchdog did next, in order: snapshots it could not take, forced stops and their summaries, the abandonment.</summary>
    public IList<string> Notes { get; } = new List<string>();

    /// <summary>
    /// True when the scenario did not end even after its cancellation and the forced stop of its runtimes:
    /// the suite went on without it, and its figures are lost.
    /// </summary>
    public bool Abandoned { get; set; }
}
