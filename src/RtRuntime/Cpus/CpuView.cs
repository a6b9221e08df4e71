using RtRuntime.Scheduling;

namespace RtRuntime.Cpus;

/// <summary>
/// A <see cref="Cpu"/> as the shared placement code reads it. A struct, so that
/// <see cref="Placement"/>'s generic methods are compiled for it alone and its reads are direct,
/// inlined field loads; over the <see cref="Cpu"/> class itself they would run as code shared by
/// every reference type, each read an interface dispatch (perf showed the dispatch stub and the
/// list indexer on every spawn).
/// </summary>
internal readonly struct CpuView(Cpu cpu) : ICpuState
{
    /// <inheritdoc/>
    public int Id => cpu.Id;

    /// <inheritdoc/>
    public bool Active => cpu.Active;

    /// <inheritdoc/>
    public int TopPrio => cpu.TopPrio;

    /// <inheritdoc/>
    public bool RunningPinned => cpu.RunningPinned;
}
