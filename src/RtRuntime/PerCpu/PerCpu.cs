using System.Runtime.CompilerServices;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.PerCpu;

/// <summary>
/// A per-CPU variable (<c>DEFINE_PER_CPU</c>): one slot per possible CPU of a runtime, each on its own
/// cache lines, so CPUs never share a line. <see cref="ThisCpu"/> is <c>this_cpu_ptr()</c>: allowed only
/// while the task cannot leave its CPU (preempt- or migrate-disabled), else the DEBUG_PREEMPT BUG
/// "using this-CPU data in preemptible code" is reported (thrown in strict mode). <see cref="Remote"/>
/// is <c>per_cpu_ptr()</c>: any CPU's slot, and the caller synchronises. Slots outlive CPU hotplug, as
/// the kernel keeps the per-CPU data of possible CPUs.
/// </summary>
/// <typeparam name="T">
/// The slot type: a struct for data that lives in the slot; a class for a per-CPU object (then only
/// the references are padded apart, and the objects lie where the GC put them, usually side by side:
/// pad such a class to 128 bytes, or keep hot per-CPU data in a struct).
/// </typeparam>
public sealed class PerCpu<T>
{
    // Slots are Stride elements apart, so that at least 128 bytes (a line pair, against adjacent-line
    // prefetch) lie between one slot's end and the next one's start whatever the slot's size, and the
    // first slot starts one stride in, away from the array header.
    private static readonly int s_stride = (Unsafe.SizeOf<T>() + 128 + Unsafe.SizeOf<T>() - 1) / Unsafe.SizeOf<T>();
    private readonly T[] _slots;

    /// <summary>Creates one slot per CPU of <paramref name="runtime"/>, each set by <paramref name="initial"/> (default: default(T)).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="runtime"/> is null.</exception>
    public PerCpu(RtScheduler runtime, Func<int, T>? initial = null)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        CpuCount = runtime.CpuCount;
        _slots = new T[(CpuCount + 2) * s_stride];
        if (initial is not null)
        {
            for (int cpu = 0; cpu < CpuCount; cpu++)
            {
                _slots[Index(cpu)] = initial(cpu);
            }
        }
    }

    /// <summary>The number of slots (the runtime's possible CPUs).</summary>
    public int CpuCount { get; }

    /// <summary>
    /// <c>this_cpu_ptr()</c>: the slot of the CPU the task runs on. Take a PreemptDisable or
    /// MigrateDisable guard first so the reference stays this CPU's across preemption points. Unlike
    /// <see cref="TaskContext.CpuId"/>, a task bound to one CPU is reported too: the kernel exempts only
    /// per-CPU threads whose affinity cannot change (<c>is_percpu_thread()</c>), and here
    /// <c>SetAffinityAsync</c> or hotplug can move any task, while a per-CPU object taken through this
    /// reference can outlive the call.
    /// </summary>
    /// <exception cref="InvalidOperationException">Used off the task's CPU; or, in strict mode, from preemptible code.</exception>
    /// <exception cref="ArgumentException"><paramref name="context"/> is a default value (no task's context).</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref T ThisCpu(TaskContext context)
    {
        RtTask task = context.CurrentTaskOf(nameof(context));
        if ((task.PreemptCount | task.MigrationDisabled) == 0)
        {
            task.Scheduler.ReportBug(task, BugKind.ThisCpuInPreemptible, "using this-CPU data");
        }

        return ref _slots[Index(Cpu.Current!.Id)]; // the calling thread runs the task: its CPU is this thread's
    }

    /// <summary><c>per_cpu_ptr(p, cpu)</c>: CPU <paramref name="cpu"/>'s slot (remote access: synchronise yourself).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="cpu"/> is not a CPU of the runtime.</exception>
    public ref T Remote(int cpu)
    {
        if ((uint)cpu >= (uint)CpuCount)
        {
            throw new ArgumentOutOfRangeException(nameof(cpu), cpu, $"cpu must be 0..{CpuCount - 1}.");
        }

        return ref _slots[Index(cpu)];
    }

    /// <summary>The slots, <see cref="Index"/> apart (for <see cref="PerCpuCounter"/>'s one-load hot path).</summary>
    internal T[] Slots => _slots;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Index(int cpu) => (cpu + 1) * s_stride;
}
