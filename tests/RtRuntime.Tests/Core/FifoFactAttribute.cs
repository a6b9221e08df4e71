namespace RtRuntime.Tests.Core;

/// <summary>
/// A fact that needs SCHED_FIFO threads on a core of their own: Linux, a privileged process (root or
/// CAP_SYS_NICE, as CI runs) and at least two allowed cores (one stays free of the test's FIFO threads).
/// </summary>
internal sealed class FifoFactAttribute : FactAttribute
{
    public FifoFactAttribute()
    {
        if (!OperatingSystem.IsLinux() || !Environment.IsPrivilegedProcess || Environment.ProcessorCount < 2)
        {
            Skip = "Needs Linux, a privileged process (SCHED_FIFO) and two cores.";
        }
    }
}
