namespace RtRuntime.Stress;

/// <summary>Counters the mixed scenario's tasks update (Interlocked; read for progress and figures).</summary>
internal sealed class MixedStats
{
    public long Spawned;
    public long MigrateSections;
    public long PreemptSections;
}
