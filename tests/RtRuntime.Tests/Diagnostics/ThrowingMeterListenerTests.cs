using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using RtRuntime.Tasks;
using RtRuntime.Tests.Hotplug;

namespace RtRuntime.Tests.Diagnostics;

/// <summary>
/// A MeterListener whose measurement callback throws is user code like any other: its exception must
/// neither change a task's outcome nor reach a CPU thread's loop (where it would end the process).
/// </summary>
public sealed class ThrowingMeterListenerTests
{
    [Fact]
    public async Task StepTime_ListenerThrows_TasksStillCompleteAndCpusGoOn()
    {
        using var factory = new ScopedMeterFactory();
        using MeterListener listener = factory.ThrowingListener("rtruntime.task.step_time");
        await using RtScheduler rt = Rt.Start(o => { o.CpuCount = 2; o.MeterFactory = factory; });

        // One step in 64 on average is timed (gaps of 1..127 per CPU): 4,096 one-step tasks leave none
        // timed with a negligible probability.
        RtTask[] tasks = SpawnEmpty(rt, "step");
        await tasks.AllWithTimeout(); // a task faulted by the listener's exception fails here

        Assert.True(factory.Thrown > 0, "the listener never saw a step: the test proves nothing");
        Assert.All(tasks, t => Assert.Equal(RtTaskState.Completed, t.State));
    }

    [Fact]
    public async Task WakeupLatency_ListenerThrows_CpuThreadsSurviveAndTasksComplete()
    {
        // Before the fix the listener's exception escapes Cpu.SwitchIn on a CPU thread: an unhandled
        // exception that ends the test process.
        using var factory = new ScopedMeterFactory();
        using MeterListener listener = factory.ThrowingListener("rtruntime.task.wakeup_latency");
        await using RtScheduler rt = Rt.Start(o => { o.CpuCount = 2; o.MeterFactory = factory; });

        RtTask[] tasks = SpawnEmpty(rt, "wake");
        await tasks.AllWithTimeout();

        Assert.True(factory.Thrown > 0, "the listener never saw a wakeup: the test proves nothing");
        ShutdownSummary summary = await rt.StopAsync(TimeSpan.FromSeconds(5)).WithTimeout();
        Assert.Equal(tasks.Length, summary.Completed);
        Assert.True(summary.AllAccountedFor);
    }

    [Fact]
    public async Task Stop_ListenerThrowsAsTheMeterIsDisposed_StopCompletesWithItsSummary()
    {
        // The stop disposes the runtime's own meter, which calls each listener's MeasurementsCompleted
        // for every instrument it enabled, on the stopping thread. Before the fix the listener's
        // exception ended the stop there: StopAsync (and every later StopAsync or DisposeAsync) threw
        // it, with no summary, the CPU threads not joined and the OS requests (LockMemory,
        // CpuDmaLatency) still held.
        using var logs = new CapturingLoggerFactory();
        RtScheduler rt = Rt.Start(o => { o.CpuCount = 1; o.LoggerFactory = logs; });
        Meter meter = rt.Metrics.Meter; // this runtime's only: tests run in parallel
        int throwing = 1;
        long thrown = 0;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter, meter))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
            MeasurementsCompleted = (_, _) =>
            {
                if (Volatile.Read(ref throwing) == 1)
                {
                    Interlocked.Increment(ref thrown);
                    throw new InvalidOperationException("a listener's bug");
                }
            },
        };
        listener.Start();
        try
        {
            RtTask task = rt.Spawn("before-stop", 10, _ => ValueTask.CompletedTask);
            await task.WithTimeout();

            ShutdownSummary summary = await rt.StopAsync(TimeSpan.FromSeconds(5)).WithTimeout();

            Assert.Equal(1, summary.Completed);
            Assert.True(summary.AllAccountedFor);
            Assert.All(rt.Cpus, c => Assert.False(c.Thread!.IsAlive, $"cpu{c.Id}'s thread was not joined"));
            await rt.DisposeAsync(); // the same stop's result, not the listener's exception
        }
        finally
        {
            Volatile.Write(ref throwing, 0); // the listener's own disposal calls it too
        }

        Assert.True(Interlocked.Read(ref thrown) > 0, "the listener's callback never ran at the stop: the test proves nothing");
        Assert.Contains(logs.Messages, m => m.Level == LogLevel.Error
            && m.Message.StartsWith("A MeterListener's MeasurementsCompleted callback threw as the runtime's meter RtRuntime was disposed", StringComparison.Ordinal));
    }

    /// <summary>4,096 one-step tasks: one wakeup and one step each, one in 64 of them sampled on average.</summary>
    private static RtTask[] SpawnEmpty(RtScheduler rt, string prefix)
    {
        var tasks = new RtTask[4_096];
        for (int i = 0; i < tasks.Length; i++)
        {
            tasks[i] = rt.Spawn(prefix + i, 10, _ => ValueTask.CompletedTask);
        }

        return tasks;
    }

    /// <summary>A meter factory of its own, so that the listener sees this test's runtime only (tests run in parallel).</summary>
    private sealed class ScopedMeterFactory : IMeterFactory
    {
        private readonly List<Meter> _meters = [];
        private long _thrown;

        public long Thrown => Interlocked.Read(ref _thrown);

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
            lock (_meters)
            {
                _meters.Add(meter);
            }

            return meter;
        }

        public MeterListener ThrowingListener(string instrumentName)
        {
            var listener = new MeterListener
            {
                InstrumentPublished = (instrument, l) =>
                {
                    if (ReferenceEquals(instrument.Meter.Scope, this) && instrument.Name == instrumentName)
                    {
                        l.EnableMeasurementEvents(instrument);
                    }
                },
            };
            listener.SetMeasurementEventCallback<double>((_, _, _, _) =>
            {
                Interlocked.Increment(ref _thrown);
                throw new InvalidOperationException("a listener's bug");
            });
            listener.Start();
            return listener;
        }

        public void Dispose()
        {
            lock (_meters)
            {
                foreach (Meter meter in _meters)
                {
                    meter.Dispose();
                }
            }
        }
    }
}
