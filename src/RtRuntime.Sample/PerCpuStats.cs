using RtRuntime.Hosting;
using RtRuntime.Tasks;

namespace RtRuntime.Sample;

/// <summary>
/// Statistics shared by both workers, one slot per CPU (the kernel's <c>DEFINE_PER_CPU</c>). A task
/// updates only the slot of the CPU it runs on, inside a migrate-disable guard, so the CPU cannot change
/// under it; the tasks of one CPU run on one thread and switch only at awaits, so an update with no
/// await in it needs no lock or atomic. Other CPUs' slots are only read (the kernel's
/// <c>per_cpu(var, cpu)</c>), which may see a slightly stale value.
/// </summary>
/// <remarks>
/// A plain array indexed by the CPU id stands in for the runtime's per-CPU data types, which are being
/// added; switch to them (<c>this_cpu_ptr</c> under a guard) once they exist.
/// </remarks>
internal sealed class PerCpuStats
{
    private readonly Lazy<CpuSlot[]> _slots;

    public PerCpuStats(RtRuntimeAccessor accessor) =>
        _slots = new Lazy<CpuSlot[]>(() => new CpuSlot[accessor.Runtime.CpuCount]);

    public int CpuCount => _slots.Value.Length;

    /// <summary>This CPU's slot. The caller holds a migrate-disable (or preempt-disable) guard.</summary>
    public ref CpuSlot ThisCpu(in TaskContext context) => ref _slots.Value[context.CpuId];

    /// <summary>A snapshot of CPU <paramref name="cpu"/>'s slot, read from any CPU.</summary>
    public CpuSlot Read(int cpu)
    {
        ref CpuSlot slot = ref _slots.Value[cpu];
        return new CpuSlot
        {
            Samples = Volatile.Read(ref slot.Samples),
            MaxLatencyNs = Volatile.Read(ref slot.MaxLatencyNs),
            Chunks = Volatile.Read(ref slot.Chunks),
        };
    }
}
