namespace RtRuntime.Simulation;

/// <summary>What a queued simulator event does when its time comes.</summary>
internal enum SimEventType
{
    Spawn = 0,
    SegmentEnd = 1,
    SleepEnd = 2,
    Tick = 3,
    LockTimeout = 4,
}
