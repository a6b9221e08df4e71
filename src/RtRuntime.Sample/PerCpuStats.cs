using RtRuntime.Hosting;
using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Sample;

/// <summary>
/// Statistics shared by both workers: the runtime's <see cref="PerCpu{T}"/>, one slot per CPU, each on
/// its own cache lines (the kernel's <c>DEFINE_PER_CPU</c>). A task updates only the slot of the CPU it
/// runs on (<c>this_cpu_ptr()</c>), inside a migrate-disable guard, so the CPU cannot change under it; the
/// runtime reports a BUG for an access without one. The tasks of one CPU run on one thread and switch
/// only at awaits, so an update with no await in it needs no lock or atomic, even when the sampler and
/// the housekeeping worker share the CPU. Other CPUs' slots are only read (<c>per_cpu_ptr()</c>), which
/// may see a slightly stale value while the workers run and is exact once they stopped.
/// </summary>
internal sealed class PerCpuStats
{
    private readonly Lazy<PerCpu<CpuSlot>> _slots;

    // The runtime exists once the host started; the workers are spawned after that.
    public PerCpuStats(RtRuntimeAccessor accessor) =>
        _slots = new Lazy<PerCpu<CpuSlot>>(() => new PerCpu<CpuSlot>(accessor.Runtime));

    public int CpuCount => _slots.Value.CpuCount;

    /// <summary>This CPU's slot. The caller holds a migrate-disable (or preempt-disable) guard.</summary>
    public ref CpuSlot ThisCpu(TaskContext context) => ref _slots.Value.ThisCpu(context);

    /// <summary>A snapshot of CPU <paramref name="cpu"/>'s slot, read from any CPU (or after the stop).</summary>
    public CpuSlot Read(int cpu)
    {
        ref CpuSlot slot = ref _slots.Value.Remote(cpu);
        return new CpuSlot
        {
            Samples = Volatile.Read(ref slot.Samples),
            MaxLatencyNs = Volatile.Read(ref slot.MaxLatencyNs),
            Overruns = Volatile.Read(ref slot.Overruns),
            Chunks = Volatile.Read(ref slot.Chunks),
        };
    }
}
