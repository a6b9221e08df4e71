using System.Runtime.InteropServices;

namespace RtRuntime.Cpus;

/// <summary>
/// What placement reads of a CPU on every spawn and wakeup, without locks (the kernel's
/// <c>cpupri</c>): the running and highest queued priorities (the hotplug state has its own line,
/// <see cref="CpuOnlineState"/>). On a cache line of its own, away from the counters the CPU thread writes on every
/// task, and written only when a value changes, so a CPU running one task after another at the
/// same priority does not invalidate the line in every spawner's cache.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct CpuPri
{
    /// <summary>Priority of the running task (−1 idle).</summary>
    [FieldOffset(64)]
    public int RunningPrio;

    /// <summary>Highest queued (not running) priority, −1 when the queue is empty.</summary>
    [FieldOffset(68)]
    public int QueuedTop;

    /// <summary>Highest queued priority of a task that may move to another CPU, −1 when none (rt_nr_migratory).</summary>
    [FieldOffset(80)]
    public int PushableTop;

    /// <summary>Publishes <paramref name="value"/> into <paramref name="field"/> unless it already holds it.</summary>
    public static void Set(ref int field, int value)
    {
        if (Volatile.Read(ref field) != value)
        {
            Volatile.Write(ref field, value);
        }
    }
}
