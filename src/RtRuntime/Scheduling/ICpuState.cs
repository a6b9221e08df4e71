namespace RtRuntime.Scheduling;

/// <summary>
/// What scheduling policy reads of a CPU. Implemented by the threaded runtime's CPUs (read without
/// locks, like the kernel's cpupri) and by the simulator's CPUs, so both drive the same policy code.
/// </summary>
public interface ICpuState
{
    /// <summary>Logical CPU id.</summary>
    int Id { get; }

    /// <summary>cpu_active: accepts new placements.</summary>
    bool Active { get; }

    /// <summary>The priority the CPU is busy at: max(running, highest queued); −1 when idle.</summary>
    int TopPrio { get; }

    /// <summary>The running task is migrate-disabled: preempted, it could not be pushed away (a pile-up).</summary>
    bool RunningPinned { get; }
}
