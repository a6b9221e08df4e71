namespace RtRuntime.Stress;

/// <summary>The kinds of step in a mixed-scenario task script.</summary>
internal enum MixedOpKind
{
    Work,
    Point,
    Yield,
    Sleep,
    TimedWait,
    MigrateSection,
    PreemptSection,
    Throw,
}
