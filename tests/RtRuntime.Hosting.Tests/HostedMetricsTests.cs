using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Hosting.Tests;

public sealed class HostedMetricsTests
{
    // Every instrument of the "RtRuntime" meter (src/RtRuntime/Diagnostics/RtMetrics.cs).
    private static readonly string[] s_longInstruments =
    [
        "rtruntime.cpu.context_switches",
        "rtruntime.cpu.preemptions",
        "rtruntime.cpu.tasks_retired",
        "rtruntime.task.migrations",
        "rtruntime.balance.pushes",
        "rtruntime.balance.pulls",
        "rtruntime.balance.running_pushes",
        "rtruntime.hotplug.operations",
        "rtruntime.bugs",
        "rtruntime.stalls",
        "rtruntime.log.failures",
        "rtruntime.cpu.runqueue_length",
        "rtruntime.cpu.nr_pinned",
        "rtruntime.cpus.online",
    ];

    private static readonly string[] s_doubleInstruments =
    [
        "rtruntime.cpu.lost_bandwidth",
        "rtruntime.cpu.busy_time",
        "rtruntime.cpu.timer_spin_time",
        "rtruntime.cpu.timer_early_wake",
        "rtruntime.task.wakeup_latency",
        "rtruntime.task.step_time",
    ];

    [Fact]
    public async Task Meter_HostedRuntimeAfterWork_EveryInstrumentMeasuresThroughTheHostsMeterFactory()
    {
        using IHost host = TestHosts.Build();
        IMeterFactory meterFactory = host.Services.GetRequiredService<IMeterFactory>();

        // Scoped to the host's factory: a meter created with `new Meter("RtRuntime")` (or another host's)
        // is not seen by these collectors.
        Dictionary<string, MetricCollector<long>> longs = s_longInstruments.ToDictionary(
            name => name, name => new MetricCollector<long>(meterFactory, "RtRuntime", name));
        Dictionary<string, MetricCollector<double>> doubles = s_doubleInstruments.ToDictionary(
            name => name, name => new MetricCollector<double>(meterFactory, "RtRuntime", name));
        try
        {
            await host.StartAsync();
            RtScheduler runtime = host.Services.GetRequiredService<RtScheduler>();
            Assert.Equal(
                s_longInstruments.Concat(s_doubleInstruments).Order(StringComparer.Ordinal),
                PublishedInstruments(meterFactory).Order(StringComparer.Ordinal)); // the lists above are the whole meter
            int tasksRun = await RunWorkAsync(runtime);

            foreach (MetricCollector<long> collector in longs.Values)
            {
                collector.RecordObservableInstruments();
            }

            foreach (MetricCollector<double> collector in doubles.Values)
            {
                collector.RecordObservableInstruments();
            }

            foreach ((string name, MetricCollector<long> collector) in longs)
            {
                AssertFromHostMeter(name, collector.Instrument, collector.GetMeasurementSnapshot().Count, meterFactory);
            }

            foreach ((string name, MetricCollector<double> collector) in doubles)
            {
                AssertFromHostMeter(name, collector.Instrument, collector.GetMeasurementSnapshot().Count, meterFactory);
            }

            // Deterministic values only (never time): every task was switched in at least once, the
            // high-priority task preempted the low one, both configured CPUs are online, nothing was
            // reported as a BUG (strict checks are on in these hosts).
            Assert.True(LatestSum(longs["rtruntime.cpu.context_switches"]) >= tasksRun, $"context switches < {tasksRun} tasks run");
            Assert.True(LatestSum(longs["rtruntime.cpu.preemptions"]) >= 1, "no preemption counted");
            Assert.Equal(1, LatestSum(longs["rtruntime.cpu.tasks_retired"])); // the one RunAsync task
            Assert.Equal(2, longs["rtruntime.cpus.online"].LastMeasurement!.Value);
            Assert.Equal(0, longs["rtruntime.bugs"].LastMeasurement!.Value);
            Assert.Equal(0, longs["rtruntime.hotplug.operations"].LastMeasurement!.Value);
            Assert.Equal(2, longs["rtruntime.cpu.runqueue_length"].GetMeasurementSnapshot().Count); // one per CPU
            Assert.Equal(2, doubles["rtruntime.cpu.timer_early_wake"].GetMeasurementSnapshot().Count);

            await host.StopAsync();
            ShutdownSummary summary = await host.Services.GetRequiredService<RtRuntimeAccessor>().Stopped.WaitAsync(TestHosts.Hang);
            Assert.True(summary.AllAccountedFor);
        }
        finally
        {
            foreach (MetricCollector<long> collector in longs.Values)
            {
                collector.Dispose();
            }

            foreach (MetricCollector<double> collector in doubles.Values)
            {
                collector.Dispose();
            }
        }
    }

    /// <summary>Spawns, a preemption, thousands of yields and a pooled task; returns the number of tasks that ran.</summary>
    private static async Task<int> RunWorkAsync(RtScheduler runtime)
    {
        int tasksRun = 0;

        // A preemption: both pinned to CPU 0, the high task spawned by the low one preempts it at its point.
        CpuSet cpu0 = CpuSet.Of(0);
        RtTask low = runtime.Spawn("low", 10, async ctx =>
        {
            RtTask high = runtime.Spawn("high", 50, _ => ValueTask.CompletedTask, affinity: cpu0);
            await ctx.PreemptionPoint(); // high runs here
            await high;
        }, affinity: cpu0);
        await low.AsTask().WaitAsync(TestHosts.Hang);
        tasksRun += 2;

        // The wakeup-latency histogram samples one wakeup in 64 at random: 4,096 spawns leave it none
        // with a probability of (63/64)^4096, about 1e-28.
        var spawned = new RtTask[4_096];
        for (int i = 0; i < spawned.Length; i++)
        {
            spawned[i] = runtime.Spawn("sampled", 10, _ => ValueTask.CompletedTask);
        }

        foreach (RtTask task in spawned)
        {
            await task.AsTask().WaitAsync(TestHosts.Hang);
        }

        tasksRun += spawned.Length;

        // The step-time histogram samples one step in 64 at random (gaps of 1..127): each yield ends a step.
        RtTask yielder = runtime.Spawn("yielder", 20, async ctx =>
        {
            for (int i = 0; i < 4_096; i++)
            {
                await ctx.Yield();
            }
        });
        await yielder.AsTask().WaitAsync(TestHosts.Hang);
        tasksRun++;

        // A RunAsync task that ends well without blocking: its CPU retires its object to the task cache
        // right after its end (the await may return first).
        await runtime.RunAsync("pooled", 10, _ => ValueTask.CompletedTask).AsTask().WaitAsync(TestHosts.Hang);
        tasksRun++;
        long deadline = Environment.TickCount64 + (long)TestHosts.Hang.TotalMilliseconds;
        while (runtime.TasksRetired == 0 && Environment.TickCount64 < deadline)
        {
            await Task.Delay(1);
        }

        return tasksRun;
    }

    private static void AssertFromHostMeter(string name, Instrument? instrument, int measurements, IMeterFactory meterFactory)
    {
        Assert.True(instrument is not null, $"{name}: no such instrument on the host's RtRuntime meter");
        Assert.Same(meterFactory, instrument.Meter.Scope);
        Assert.True(measurements > 0, $"{name}: no measurement");
    }

    /// <summary>The names of the instruments on the "RtRuntime" meter created through <paramref name="meterFactory"/>.</summary>
    private static List<string> PublishedInstruments(IMeterFactory meterFactory)
    {
        var names = new List<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, _) =>
        {
            if (instrument.Meter.Name == "RtRuntime" && ReferenceEquals(instrument.Meter.Scope, meterFactory))
            {
                names.Add(instrument.Name); // called from Start for the instruments that already exist
            }
        };
        listener.Start();
        return names;
    }

    /// <summary>The sum over CPUs of the last measurement of each CPU tag (or of the untagged value).</summary>
    private static long LatestSum(MetricCollector<long> collector) =>
        collector.GetMeasurementSnapshot()
            .GroupBy(m => m.Tags.TryGetValue("cpu", out object? cpu) ? cpu : null)
            .Sum(g => g.Last().Value);
}
