using System.Diagnostics.Metrics;
using System.Diagnostics.Tracing;
using BenchmarkDotNet.Attributes;

namespace RtRuntime.Benchmarks;

/// <summary>
/// Dispatch throughput (same-CPU yield switches and wakeups, the hot path) with observability off,
/// with every "RtRuntime" instrument enabled by a MeterListener (the wakeup-latency and step-time
/// histograms then read the clock), and additionally with the "RtRuntime" EventSource enabled at
/// Informational level (Verbose adds an event per switch and wakeup). ns/op is per yield.
/// </summary>
public class ObservabilityBenchmarks
{
    private const int N = 100_000;
    private RtScheduler _rt = null!;
    private MeterListener? _meters;
    private Listener? _events;

    [Params("off", "metrics", "metrics+events")]
    public string Observability { get; set; } = "off";

    [GlobalSetup]
    public void Setup()
    {
        _rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1 });
        if (Observability != "off")
        {
            _meters = new MeterListener
            {
                InstrumentPublished = (instrument, listener) =>
                {
                    if (instrument.Meter.Name == "RtRuntime")
                    {
                        listener.EnableMeasurementEvents(instrument);
                    }
                },
            };
            _meters.SetMeasurementEventCallback<double>(static (_, _, _, _) => { });
            _meters.SetMeasurementEventCallback<long>(static (_, _, _, _) => { });
            _meters.Start();
        }

        if (Observability == "metrics+events")
        {
            _events = new Listener();
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _events?.Dispose();
        _meters?.Dispose();
        _rt.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(OperationsPerInvoke = 2 * N)]
    public void YieldSwitch() => YieldPair.Run(_rt, N);

    private sealed class Listener : EventListener
    {
        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "RtRuntime")
            {
                EnableEvents(eventSource, EventLevel.Informational);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
        }
    }
}
