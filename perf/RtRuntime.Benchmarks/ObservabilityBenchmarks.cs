using System.Diagnostics.Metrics;
using System.Diagnostics.Tracing;
using BenchmarkDotNet.Attributes;
using RtRuntime.Tasks;

namespace RtRuntime.Benchmarks;

/// <summary>
/// Dispatch throughput on one CPU (same-CPU yield switches, and spawn-and-run of empty tasks, which
/// passes the wakeup path) under four instrumentation settings:
/// "compiled-out": the <c>RtRuntime.Instrumentation.IsSupported</c> switch is off, so every hot-path
/// instrument site is folded away by the JIT (the no-instruments baseline);
/// "off": instruments compiled in, no listener (the default: each site is a field read);
/// "metrics": a MeterListener enables every "RtRuntime" instrument (the wakeup-latency and step-time
/// histograms then read the clock and record);
/// "metrics+events": plus an EventListener on the "RtRuntime" EventSource at Informational level
/// (Verbose adds an event per switch and wakeup, a tracing session's choice).
/// Each setting runs in its own process (the switch is read once per process); the benchmark thread
/// is pinned to core 1, the runtime's CPU to core 0. ns/op is per yield or per task.
/// <c>dotnet run -c Release perf/probes/RtProbe.cs -- observe</c> interleaves the last three in one
/// process (code layout then cannot differ between them).
/// </summary>
[MemoryDiagnoser]
public class ObservabilityBenchmarks
{
    private const int N = 100_000;
    private const int Tasks = 10_000;
    private readonly RtTask[] _handles = new RtTask[Tasks];
    private RtScheduler _rt = null!;
    private MeterListener? _meters;
    private Listener? _events;

    [Params("compiled-out", "off", "metrics", "metrics+events")]
    public string Observability { get; set; } = "off";

    [GlobalSetup]
    public void Setup()
    {
        if (Observability == "compiled-out")
        {
            // Before the runtime's first use: the switch is a static readonly read once.
            AppContext.SetSwitch("RtRuntime.Instrumentation.IsSupported", false);
        }

        _rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1, Cores = [0] });
        NativeMethods.PinCallingThread(1); // the spawner beside the runtime's CPU, never on its core
        if (Observability is "metrics" or "metrics+events")
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

    [Benchmark(OperationsPerInvoke = Tasks)]
    public void SpawnRun()
    {
        for (int i = 0; i < Tasks; i++)
        {
            _handles[i] = _rt.Spawn(null, 10, static async ctx => await default(ValueTask));
        }

        for (int i = 0; i < Tasks; i++)
        {
            RtTask t = _handles[i];
            SpinWait spin = default;
            while (!t.IsCompleted)
            {
                spin.SpinOnce();
            }
        }
    }

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
