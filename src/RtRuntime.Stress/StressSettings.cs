using Microsoft.Extensions.Logging;

namespace RtRuntime.Stress;

/// <summary>
/// What every scenario run shares: the runtime's shape (CPUs, pinning, model, policy), how long to run,
/// and the seed that makes the run's random choices reproducible.
/// </summary>
public sealed record StressSettings
{
    /// <summary>Most CPUs a runtime can have.</summary>
    public const int MaxCpus = Cpus.CpuSet.MaxCpus;

    /// <summary>Logical CPUs (1..1024). Default (null): the cores in the process's affinity mask.</summary>
    public int? CpuCount { get; init; }

    /// <summary>How long one runtime run lasts (100 ms..24 h). Default 5 s.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Seed of every random choice in the run. Default 1.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Balancing policy (scenarios that compare policies ignore it). Default <see cref="BalancePolicy.WorkConserving"/>.</summary>
    public BalancePolicy Policy { get; init; } = BalancePolicy.WorkConserving;

    /// <summary>Guard semantics. Default <see cref="PreemptionModel.Rt"/>.</summary>
    public PreemptionModel Model { get; init; } = PreemptionModel.Rt;

    /// <summary>Whether CPU threads are pinned to cores. Default <see cref="PinningMode.Pinned"/>.</summary>
    public PinningMode Pinning { get; init; } = PinningMode.Pinned;

    /// <summary>
    /// Lock the process's memory while the runtime runs (<see cref="RtSchedulerOptions.LockMemory"/>: mlockall),
    /// as <c>cyclictest -m</c> does. Default false.
    /// </summary>
    public bool LockMemory { get; init; }

    /// <summary>
    /// A CPU latency request held while the runtime runs (<see cref="RtSchedulerOptions.CpuDmaLatency"/>:
    /// <c>/dev/cpu_dma_latency</c>), as <c>cyclictest</c> holds 0 µs by default. 0..1 s, whole microseconds; default null (none).
    /// </summary>
    public TimeSpan? CpuDmaLatency { get; init; }

    /// <summary>
    /// The watchdog's grace: how long a scenario may run past its planned time
    /// (<see cref="StressScenario.PlannedDuration"/>) before the watchdog fails it with
    /// <see cref="Invariants.Watchdog"/>, reports what was still running, cancels it, stops its runtimes
    /// and, if it still does not end, abandons it. 100 ms..24 h, or <see cref="Timeout.InfiniteTimeSpan"/>
    /// for no watchdog. Default (null): the longer of 2 minutes and the planned time (a scenario without a
    /// planned time, <c>simulate</c>, then has no watchdog).
    /// </summary>
    public TimeSpan? WatchdogGrace { get; init; }

    /// <summary>Logger factory handed to the runtime. Default: none.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>The CPU count the runtime will have: <see cref="CpuCount"/> or the usable cores.</summary>
    public int EffectiveCpuCount => CpuCount ?? Math.Clamp(Environment.ProcessorCount, 1, MaxCpus);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid setting and what is allowed.</summary>
    public void Validate()
    {
        if (CpuCount is { } n && (n < 1 || n > MaxCpus))
        {
            throw new ArgumentOutOfRangeException(nameof(CpuCount), n, $"CpuCount must be 1..{MaxCpus}.");
        }

        if (Duration < TimeSpan.FromMilliseconds(100) || Duration > TimeSpan.FromHours(24))
        {
            throw new ArgumentOutOfRangeException(nameof(Duration), Duration, "Duration must be 100 ms..24 h.");
        }

        if (WatchdogGrace is { } grace && grace != Timeout.InfiniteTimeSpan && (grace < TimeSpan.FromMilliseconds(100) || grace > TimeSpan.FromHours(24)))
        {
            throw new ArgumentOutOfRangeException(nameof(WatchdogGrace), grace, "WatchdogGrace must be 100 ms..24 h, Timeout.InfiniteTimeSpan (no watchdog) or null (the default).");
        }

        if (CpuDmaLatency is { } latency && (latency < TimeSpan.Zero || latency > TimeSpan.FromSeconds(1) || latency.Ticks % TimeSpan.TicksPerMicrosecond != 0))
        {
            throw new ArgumentOutOfRangeException(nameof(CpuDmaLatency), latency, "CpuDmaLatency must be 0..1 s in whole microseconds, or null (none).");
        }

        if (!Enum.IsDefined(Policy) || !Enum.IsDefined(Model) || !Enum.IsDefined(Pinning))
        {
            throw new ArgumentOutOfRangeException(nameof(Policy), "Policy, Model and Pinning must be defined enum values.");
        }
    }

    /// <summary>Runtime options for one run of these settings under <paramref name="policy"/>.</summary>
    /// <param name="policy">The balancing policy of this run.</param>
    public RtSchedulerOptions ToRuntimeOptions(BalancePolicy policy) => new()
    {
        CpuCount = CpuCount,
        Pinning = Pinning,
        Model = Model,
        Balance = policy,
        StrictChecks = false,
        LockMemory = LockMemory,
        CpuDmaLatency = CpuDmaLatency,
        LoggerFactory = LoggerFactory,
    };
}
