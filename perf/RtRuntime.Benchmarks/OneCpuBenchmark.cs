using BenchmarkDotNet.Attributes;

namespace RtRuntime.Benchmarks;

/// <summary>A benchmark class whose rows run on one RtRuntime CPU, started once per class and stopped after it.</summary>
public abstract class OneCpuBenchmark
{
    /// <summary>The one-CPU runtime.</summary>
    protected RtScheduler Rt { get; private set; } = null!;

    [GlobalSetup]
    public void Setup() => Start(new RtSchedulerOptions { CpuCount = 1 });

    [GlobalCleanup]
    public void Cleanup() => Rt.DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Starts <see cref="Rt"/> with <paramref name="options"/>: for a row's own <c>[GlobalSetup(Target = ...)]</c>, which BenchmarkDotNet runs instead of <see cref="Setup"/>.</summary>
    protected void Start(RtSchedulerOptions options) => Rt = RtScheduler.Start(options);
}
