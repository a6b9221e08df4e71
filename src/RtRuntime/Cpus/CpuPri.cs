using System.Runtime.InteropServices;
using RtRuntime.Tasks;

namespace RtRuntime.Cpus;

/// <summary>
/// What a waker reads and writes of a CPU, without locks: the running and highest queued priorities
/// that placement reads on every spawn and wakeup (the kernel's <c>cpupri</c>), the wake list's
/// head, the idle flag and the running task (<see cref="Cpu.TryQueueWake"/>). On a cache line of its
/// own, away from the counters the CPU thread writes on every task (the hotplug state has its own
/// line, <see cref="CpuOnlineState"/>); the priorities are written only when a value changes, so a CPU
/// running one task after another at the same priority does not invalidate the line in every
/// spawner's cache.
/// <para>
/// One line for all of them: a cross-CPU wakeup pushes onto the list, reads the idle flag and compares
/// the running priority (or, when the CPU is busy, flags its running task), and the woken CPU takes
/// the list, clears its idle flag and publishes its new priorities and running task, so each side
/// moves this one line instead of three. Alone, that made no difference beyond this VM's noise; the
/// handoff got faster with the task's and the idle readers' lines (docs/benchmarks.md, "The cross-CPU
/// handoff: the lines the wake path touches").
/// </para>
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

    /// <summary>1 while the CPU thread is idle (parked, polling, or about to park), else 0.</summary>
    [FieldOffset(72)]
    public int Idle;

    /// <summary>Highest queued priority of a task that may move to another CPU, −1 when none (rt_nr_migratory).</summary>
    [FieldOffset(80)]
    public int PushableTop;

    /// <summary>The wake list's head: newest first, linked through <see cref="RtTask.RqNext"/> (<see cref="Cpu"/>'s WakeList part).</summary>
    [FieldOffset(88)]
    public RtTask? WakeList;

    /// <summary>rq->curr (<see cref="Cpu.Running"/>): a waker of a busy CPU sets its pending work in the running task's gate too.</summary>
    [FieldOffset(96)]
    public RtTask? Running;

    /// <summary>Publishes <paramref name="value"/> into <paramref name="field"/> unless it already holds it.</summary>
    public static void Set(ref int field, int value)
    {
        if (Volatile.Read(ref field) != value)
        {
            Volatile.Write(ref field, value);
        }
    }
}
