namespace RtRuntime.Compare.Sections;

/// <summary>
/// The absolute deadlines of a periodic measurer. <see cref="Fixed"/>: one every period, as cyclictest
/// sleeps. <see cref="Jittered"/>: each a pseudo-random 0.75–1.25 × the period after the one before,
/// from a fixed seed and the 64-bit LCG that native/preempt.c uses, so the kernel's timer row sleeps to
/// the same offsets. The preemption section jitters because this VM stops a busy core for 20–50 µs at
/// fixed phases of its 4 ms tick: a fixed 200 µs period divides 4 ms, so every deadline of a run falls
/// at the one phase its start happened to pick, and a run's p99 is decided by that phase, not by what
/// is measured (docs/benchmarks.md, "The timer rows and the tick").
/// </summary>
internal struct DeadlineSequence
{
    private const ulong Seed = 12345;
    private readonly long _periodNs;
    private readonly bool _jittered;
    private ulong _state;

    private DeadlineSequence(long periodNs, bool jittered)
    {
        _periodNs = periodNs;
        _jittered = jittered;
        _state = Seed;
    }

    /// <summary>A deadline every <paramref name="periodNs"/>.</summary>
    public static DeadlineSequence Fixed(long periodNs) => new(periodNs, jittered: false);

    /// <summary>Deadlines 0.75–1.25 × <paramref name="periodNs"/> apart (the same sequence in every run).</summary>
    public static DeadlineSequence Jittered(long periodNs) => new(periodNs, jittered: true);

    /// <summary>The deadline after <paramref name="previousNs"/>.</summary>
    public long Next(long previousNs)
    {
        if (!_jittered)
        {
            return previousNs + _periodNs;
        }

        _state = (_state * 6364136223846793005UL) + 1442695040888963407UL;
        return previousNs + (_periodNs * 3 / 4) + (long)((_state >> 33) % (ulong)(_periodNs / 2));
    }

    /// <summary>The first deadline after <paramref name="nowNs"/> that is still ahead of it, skipping missed ones.</summary>
    public long NextAfter(long previousNs, long nowNs)
    {
        long next = Next(previousNs);
        while (next <= nowNs)
        {
            next = Next(next);
        }

        return next;
    }
}
