using System.Runtime.CompilerServices;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.PerCpu;

/// <summary>
/// A per-CPU counter (<c>percpu_counter</c> without the batch): each CPU adds to its own slot with
/// <c>this_cpu_add()</c> semantics (one operation, safe from preemptible code without a guard: a
/// cooperative task cannot be switched out inside it, and only the CPU's own thread writes its slot),
/// and <see cref="Sum"/> adds every slot, online or not, exactly once writers stop.
/// </summary>
public sealed class PerCpuCounter
{
    private readonly PerCpu<long> _perCpu;
    private readonly long[] _slots; // _perCpu's slots, loaded from the counter itself on the hot path

    /// <summary>Creates a counter with one slot per CPU of <paramref name="runtime"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="runtime"/> is null.</exception>
    public PerCpuCounter(RtScheduler runtime)
    {
        _perCpu = new PerCpu<long>(runtime);
        _slots = _perCpu.Slots;
    }

    /// <summary><c>this_cpu_add()</c>.</summary>
    /// <exception cref="InvalidOperationException">Used off the task's CPU.</exception>
    /// <exception cref="ArgumentException"><paramref name="context"/> is a default value (no task's context).</exception>
    public void Add(TaskContext context, long delta)
    {
        // Shaped for the JIT to keep everything but the add out of a caller's loop: the slots are read
        // first (that read is the null check of this counter, so nothing comes before it); the task
        // is only compared, never read; the CPU is the thread's (Cpu.Current, a thread static like the
        // check's), not the task's field; and the add is an array element store, not a store through
        // a ref, so the JIT knows it changes none of these. Only this CPU's thread writes the slot, so
        // a plain read-modify-write loses nothing (this_cpu_add); Sum's volatile reads see it.
        long[] slots = _slots;
        _ = context.CurrentTaskOf(nameof(context));
        slots[PerCpu<long>.Index(Cpu.Current!.Id)] += delta;
    }

    /// <summary><c>this_cpu_inc()</c>.</summary>
    /// <exception cref="InvalidOperationException">Used off the task's CPU.</exception>
    /// <exception cref="ArgumentException"><paramref name="context"/> is a default value (no task's context).</exception>
    public void Increment(TaskContext context) => Add(context, 1);

    /// <summary><c>this_cpu_read()</c>: this CPU's slot.</summary>
    /// <exception cref="InvalidOperationException">Used off the task's CPU.</exception>
    /// <exception cref="ArgumentException"><paramref name="context"/> is a default value (no task's context).</exception>
    public long ReadThisCpu(TaskContext context) => Volatile.Read(ref ThisCpuRaw(context));

    /// <summary>CPU <paramref name="cpu"/>'s slot.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such CPU.</exception>
    public long Read(int cpu) => Volatile.Read(ref _perCpu.Remote(cpu));

    /// <summary>The sum over every CPU's slot (exact once writers stop; a racy snapshot while they run).</summary>
    public long Sum()
    {
        long sum = 0;
        for (int cpu = 0; cpu < _perCpu.CpuCount; cpu++)
        {
            sum += Volatile.Read(ref _perCpu.Remote(cpu));
        }

        return sum;
    }

    /// <summary>
    /// <c>raw_cpu_ptr()</c>: the slot of the task's CPU with no preemptible check. Correct only for one
    /// synchronous read-modify-write between two awaits (a cooperative task is never switched out in
    /// synchronous code). Once the thread is known to run the task, its CPU is the thread's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref long ThisCpuRaw(TaskContext context)
    {
        _ = context.CurrentTaskOf(nameof(context));
        return ref _slots[PerCpu<long>.Index(Cpu.Current!.Id)]; // the calling thread runs the task: its CPU is this thread's
    }
}
