using System.Diagnostics.Metrics;
using RtRuntime.Cpus;

namespace RtRuntime.Diagnostics;

/// <summary>
/// The runtime's instruments on one <see cref="Meter"/> named "RtRuntime" (readable with
/// <c>dotnet-counters monitor --counters RtRuntime</c>). Counters and gauges are observable: they
/// read the CPUs' own counters when a listener collects, so the dispatch path pays nothing for them.
/// The two histograms read the clock only while a listener has enabled them (and never when the
/// <see cref="RtInstrumentation"/> switch compiles them out). Tags are bounded: a CPU
/// id, never a task id.
/// </summary>
internal sealed class RtMetrics : IDisposable
{
    public const string MeterName = "RtRuntime";

    private readonly Meter _meter;

    public RtMetrics(RtScheduler runtime, IMeterFactory? factory)
    {
        _meter = factory?.Create(MeterName) ?? new Meter(MeterName);
        Cpu[] cpus = runtime.Cpus;

        _meter.CreateObservableCounter("rtruntime.cpu.context_switches", () => PerCpu(cpus, c => c.ContextSwitches), "{switch}", "Tasks switched in, per CPU.");
        _meter.CreateObservableCounter("rtruntime.cpu.preemptions", () => PerCpu(cpus, c => c.Preemptions), "{preemption}", "Tasks switched out at a preemption point while still runnable (by a higher priority, a round-robin rotation, or the stopper moving them), per CPU.");
        _meter.CreateObservableCounter("rtruntime.cpu.tasks_retired", () => PerCpu(cpus, c => Volatile.Read(ref c.TasksRetired)), "{task}", "Tasks spawned with RunAsync whose objects went back to the task cache for reuse (they ended well without blocking), per CPU.");
        _meter.CreateObservableCounter("rtruntime.task.migrations", () => PerCpu(cpus, c => c.MigrationsIn), "{migration}", "Tasks that arrived from another CPU, per destination CPU.");
        _meter.CreateObservableCounter("rtruntime.balance.pushes", () => One(() => Interlocked.Read(ref runtime.Balancer.Pushes)), "{push}", "Queued tasks pushed to a CPU running lower priority, or off a dying CPU.");
        _meter.CreateObservableCounter("rtruntime.balance.pulls", () => One(() => Interlocked.Read(ref runtime.Balancer.Pulls)), "{pull}", "Queued tasks pulled by a CPU that dropped in priority or went idle.");
        _meter.CreateObservableCounter("rtruntime.balance.running_pushes", () => One(() => Interlocked.Read(ref runtime.Balancer.RunningPushes)), "{push}", "Moves of a task off a CPU where it runs or was about to: migrate-disable pile-up repairs (the task that preempted a pinned one moved away, before it started or by the stopper) and check_preempt_equal_prio moves (the stopper moved a runner so that an equal-priority task woken on its CPU runs too).");
        _meter.CreateObservableCounter("rtruntime.hotplug.operations", () => One(() => runtime.HotplugOperations), "{operation}", "CPU offline and online operations completed.");
        _meter.CreateObservableCounter("rtruntime.bugs", () => One(() => runtime.BugCount), "{report}", "Kernel-style BUG reports: scheduling while atomic, smp_processor_id() or this-CPU data used in preemptible code, a local lock or RtMutex held when its task ended, a deadlock (local locks, RtMutexes) refused.");
        _meter.CreateObservableCounter("rtruntime.log.failures", () => One(() => runtime.LogFailures), "{message}", "Log messages dropped because the application's logging provider threw.");
        _meter.CreateObservableCounter("rtruntime.stalls", () => One(() => runtime.StallCount), "{stall}", "Stall reports (a task that passed no preemption point for longer than the stall threshold) and LATENCY_WARN reports (need_resched pending too long).");

        _meter.CreateObservableGauge("rtruntime.cpu.runqueue_length", () => PerCpu(cpus, c => (long)c.Rq.Count), "{task}", "Runnable tasks waiting on each CPU's run queue.");
        _meter.CreateObservableGauge("rtruntime.cpu.nr_pinned", () => PerCpu(cpus, c => (long)c.NrPinned), "{task}", "Tasks inside a migrate-disabled section, per CPU (rq->nr_pinned).");
        _meter.CreateObservableGauge("rtruntime.cpus.online", () => One(() => cpus.Count(c => c.Online)), "{cpu}", "CPUs online.");
        _meter.CreateObservableCounter("rtruntime.cpu.lost_bandwidth", () => PerCpuSeconds(cpus, c => runtime.Rebalancer.LostNs(c.Id)), "s", "Time a CPU idled or ran lower priority while a higher-priority task allowed there waited.");
        _meter.CreateObservableCounter("rtruntime.cpu.busy_time", () => PerCpuSeconds(cpus, c => c.BusyNs), "s", "Time each CPU spent running tasks, the busy period in progress included.");
        _meter.CreateObservableCounter("rtruntime.cpu.timer_spin_time", () => PerCpuSeconds(cpus, c => Volatile.Read(ref c.TimerSpinNs)), "s", "Time each CPU spun to an anticipated sleeper deadline, taken from the task it stopped early (AnticipateTimers).");
        _meter.CreateObservableGauge("rtruntime.cpu.timer_early_wake", () => PerCpuSeconds(cpus, c => Volatile.Read(ref c.TimerEarlyNs)), "s", "How long before a timer each idle CPU asks the OS to wake it and spins the rest, learnt from how late its timed sleeps came back (TimerEarlyWakeMax).");

        WakeupLatency = _meter.CreateHistogram<double>("rtruntime.task.wakeup_latency", "us", "From a task becoming runnable (spawn or wakeup) to running.");
        StepTime = _meter.CreateHistogram<double>("rtruntime.task.step_time", "us", "Run time of one task step (until it suspends).");
    }

    /// <summary>
    /// Both histograms sample one event in 64 on average, at random (xorshift32): a step per CPU
    /// (<see cref="NextGap"/>), a wakeup per waking thread (<see cref="Sample"/>). Not every 64th: a
    /// fixed period aliases with periodic work (two tasks alternating steps would have only one of
    /// them timed). A same-CPU switch is about 60 ns and a spawn-and-run about 110 ns, and timing one
    /// costs two clock reads (24 ns each on this VM) and a record (RtProbe observe). Percentiles are
    /// the sample's; rtstress cyclic and the Verbose tracepoints see every wakeup.
    /// </summary>
    public const int SampleMask = 63;

    /// <summary>True for one call in 64 on average, at random (advances <paramref name="state"/>).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static bool Sample(ref uint state) => (Next(ref state) & SampleMask) == 0;

    /// <summary>A random gap to the next sampled event, 1..127 (64 on average).</summary>
    public static int NextGap(ref uint state) => 1 + (int)(Next(ref state) % (2 * SampleMask + 1));

    private static uint Next(ref uint state)
    {
        uint x = state == 0 ? 0x9E3779B9u : state; // a zero state would stay zero
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        state = x;
        return x;
    }

    /// <summary>The meter the instruments live on (for a listener scoped to this runtime).</summary>
    public Meter Meter => _meter;

    public Histogram<double> WakeupLatency { get; }

    public Histogram<double> StepTime { get; }

    /// <summary>A listener has enabled the wakeup-latency histogram (and instrumentation is compiled in).</summary>
    public bool WakeupLatencyOn => RtInstrumentation.IsSupported && WakeupLatency.Enabled;

    /// <summary>A listener has enabled the step-time histogram (and instrumentation is compiled in).</summary>
    public bool StepTimeOn => RtInstrumentation.IsSupported && StepTime.Enabled;

    // Once disposed (the runtime stopped), the observable instruments report nothing: a meter from an
    // IMeterFactory (the host's) is owned by the factory, whose meters ignore Dispose, so the instruments
    // stay published until the host is disposed and would report the stopped runtime's last figures.
    private Measurement<long>[] One(Func<long> read) =>
        _disposed ? [] : [new Measurement<long>(read())];

    private Measurement<long>[] PerCpu(Cpu[] cpus, Func<Cpu, long> read) =>
        _disposed ? [] : cpus.Select(c => new Measurement<long>(read(c), c.MetricTag)).ToArray();

    private Measurement<double>[] PerCpuSeconds(Cpu[] cpus, Func<Cpu, long> readNs) =>
        _disposed ? [] : cpus.Select(c => new Measurement<double>(readNs(c) / 1e9, c.MetricTag)).ToArray();

    private volatile bool _disposed;

    public void Dispose()
    {
        _disposed = true;
        _meter.Dispose();
    }
}
