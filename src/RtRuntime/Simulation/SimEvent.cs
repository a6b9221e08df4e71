namespace RtRuntime.Simulation;

/// <summary>A queued simulator event.</summary>
internal readonly record struct SimEvent(SimEventType Type, SimTask? Task, int Gen = 0);
