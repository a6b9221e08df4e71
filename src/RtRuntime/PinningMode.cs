namespace RtRuntime;

/// <summary>How CPU threads are bound to the machine's cores.</summary>
public enum PinningMode
{
    /// <summary>
    /// Logical CPU i is pinned to the i-th allowed core (wrapping around, so several CPUs may share a
    /// core when there are more CPUs than cores).
    /// </summary>
    Pinned = 0,

    /// <summary>
    /// CPU threads keep the process's affinity; the OS places them. <see cref="RtSchedulerOptions.Cores"/> must then be
    /// unset (null or empty): a list of cores to pin to would be ignored, so it is refused.
    /// </summary>
    Unpinned = 1,
}
