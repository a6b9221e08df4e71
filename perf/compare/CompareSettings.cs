namespace RtRuntime.Compare;

/// <summary>Sizes of every measurement: full (minutes, for docs/benchmarks-compare.md) or quick (seconds, for the smoke test).</summary>
internal sealed class CompareSettings
{
    /// <summary>True for the tiny smoke-test sizes.</summary>
    public required bool Quick { get; init; }

    /// <summary>Where the markdown report goes.</summary>
    public required string OutPath { get; init; }

    /// <summary>Where the PNG plots go.</summary>
    public required string ImageDir { get; init; }

    /// <summary>The sections to run (1..7); all by default.</summary>
    public required IReadOnlySet<int> Sections { get; init; }

    /// <summary>The command line as typed, for the report.</summary>
    public required string Command { get; init; }

    /// <summary>Timer period for the cyclictest-style measurements.</summary>
    public long TimerIntervalNs => 200_000;

    /// <summary>Wakeups per CPU and variant (cyclictest <c>-l</c>).</summary>
    public int TimerLoops => Quick ? 150 : 30_000;

    /// <summary>Interleaved rounds the timer rows' loops are split into (<see cref="Sections.InterleavedRuns"/>).</summary>
    public int TimerSegments => Quick ? 2 : 6;

    /// <summary>Items for enqueue-to-start and event wake latency.</summary>
    public int WakeSamples => Quick ? 200 : 20_000;

    /// <summary>Samples per preemption-latency variant.</summary>
    public int PreemptSamples => Quick ? 100 : 10_000;

    /// <summary>Interleaved rounds the preemption rows' samples are split into (<see cref="Sections.InterleavedRuns"/>).</summary>
    public int PreemptSegments => Quick ? 2 : 5;

    /// <summary>Tasks per spawn-and-run repetition.</summary>
    public int SpawnCount => Quick ? 2_000 : 200_000;

    /// <summary>Round trips per ping-pong repetition.</summary>
    public int PingPongRounds => Quick ? 200 : 5_000;

    /// <summary>Yields per task per yield-switch repetition.</summary>
    public int Yields => Quick ? 2_000 : 1_000_000;

    /// <summary>Repetitions of throughput measurements (median reported).</summary>
    public int Reps => Quick ? 2 : 7;

    /// <summary>Work per check-overhead repetition, in nanoseconds of hashing.</summary>
    public long OverheadWorkNs => Quick ? 2_000_000 : 200_000_000;

    /// <summary>Increments per task per per-CPU-counter repetition.</summary>
    public long CounterOps => Quick ? 100_000 : 50_000_000;

    /// <summary>Tasks in the "spawned and completed" memory run.</summary>
    public int MillionTasks => Quick ? 5_000 : 1_000_000;

    /// <summary>Tasks asleep at once in the memory run.</summary>
    public int SleepingTasks => Quick ? 2_000 : 100_000;
}
