namespace RtRuntime.Stress.Tests;

/// <summary>How a <see cref="HangingScenario"/> hangs.</summary>
public enum HangKind
{
    /// <summary>
    /// A task of its runtime waits for a wakeup that never comes (a foreign await, never cancelled), and the
    /// scenario waits for that task without a timeout: only a stop of the runtime ends it.
    /// </summary>
    BlockedTask,

    /// <summary>
    /// A task spins without ever reaching a preemption point, and the scenario waits for something nobody
    /// signals, ignoring its cancellation: nothing ends it, the watchdog has to abandon it.
    /// </summary>
    IgnoresEverything,
}
