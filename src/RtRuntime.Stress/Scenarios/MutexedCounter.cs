using RtRuntime.Tasks;

namespace RtRuntime.Stress;

/// <summary>
/// An RtMutex of the mixed scenario and the counter its sections update under it: each section reads
/// <see cref="Value"/>, runs steps that may sleep, wait or be preempted, and writes it back plus one
/// (plain accesses: the mutex orders them), so <see cref="Value"/> equals <see cref="Increments"/> only
/// if the mutex excludes.
/// </summary>
internal sealed class MutexedCounter(RtMutex mutex)
{
    public RtMutex Mutex { get; } = mutex;

    /// <summary>Sections entered.</summary>
    public long Sections;

    /// <summary>Sections skipped: their timed wait for the mutex timed out.</summary>
    public long TimedOut;

    /// <summary>Sections skipped: their try-lock found the mutex held.</summary>
    public long TryFailed;

    /// <summary>Read and written back plus one by each section, under <see cref="Mutex"/>.</summary>
    public long Value;

    /// <summary>Sections that wrote <see cref="Value"/> back.</summary>
    public long Increments;
}
