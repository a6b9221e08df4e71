namespace RtRuntime.Simulation;

/// <summary>Where a simulated task is.</summary>
internal enum SimTaskState
{
    NotSpawned = 0,
    Running = 1,
    Queued = 2,
    Sleeping = 3,
    Waiting = 4,
    AffinityWait = 5,
    Exited = 6,
}
