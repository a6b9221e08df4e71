namespace RtRuntime.Hosting;

/// <summary>
/// How the hosted runtime stops (section <c>RtRuntime:Hosting</c>). The drain budget is the host's
/// <c>HostOptions.ShutdownTimeout</c>: the runtime drains for that long minus the cancel grace, then
/// cancels what is left and gives it the grace to observe the cancellation.
/// </summary>
public sealed class RtRuntimeHostingOptions
{
    /// <summary>
    /// Time given to the tasks still live after the drain to observe their cancellation at a
    /// preemption point or blocking wait (0..10 min). Capped at half the host's shutdown timeout so the
    /// cancellation always happens before the host gives up. Default 5 s.
    /// </summary>
    public TimeSpan CancelGrace { get; set; } = TimeSpan.FromSeconds(5);
}
