namespace RtRuntime.Simulation;

/// <summary>An invariant the simulator found broken after an event.</summary>
/// <param name="TimeUs">Virtual time in µs.</param>
/// <param name="EventIndex">The number of events processed when it was found.</param>
/// <param name="Kind">The invariant.</param>
/// <param name="Message">What exactly was wrong.</param>
public sealed record SimViolation(long TimeUs, long EventIndex, SimViolationKind Kind, string Message);
