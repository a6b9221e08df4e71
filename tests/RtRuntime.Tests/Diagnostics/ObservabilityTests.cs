using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Diagnostics.Tracing;
using System.Text.Json;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Diagnostics;

public class ObservabilityTests
{
    [Fact]
    public async Task Meter_AfterSwitchesAndPreemptions_CountersReportThem()
    {
        await using var rt = Rt.Start(cpus: 1);
        using var switches = new MetricCollector<long>(null, "RtRuntime", "rtruntime.cpu.context_switches");
        using var preemptions = new MetricCollector<long>(null, "RtRuntime", "rtruntime.cpu.preemptions");
        using var latency = new MetricCollector<double>(null, "RtRuntime", "rtruntime.task.wakeup_latency");
        var low = rt.Spawn("low", 10, async ctx =>
        {
            var high = rt.Spawn("high", 50, _ => ValueTask.CompletedTask);
            await ctx.PreemptionPoint(); // high preempts here
            await high;
        });
        await low.WithTimeout();

        switches.RecordObservableInstruments();
        preemptions.RecordObservableInstruments();
        Assert.True(switches.LastMeasurement!.Value >= 3, "low, high, low again");
        Assert.Equal(0, switches.LastMeasurement.Tags["cpu"]);
        Assert.True(preemptions.LastMeasurement!.Value >= 1);
        Assert.NotEmpty(latency.GetMeasurementSnapshot()); // the histogram was enabled by the collector
    }

    [Fact]
    public async Task EventSource_Enabled_EmitsSwitchWakeupAndMigrateDisableEvents()
    {
        using var listener = new Listener();
        await using var rt = Rt.Start(cpus: 1);
        var t = rt.Spawn("traced", 20, async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                await ctx.Yield();
            }
        });
        await t.WithTimeout();
        Assert.Contains("SchedWakeup", listener.Names);
        Assert.Contains("SchedSwitch", listener.Names);
        Assert.Contains("MigrateDisable", listener.Names);
        Assert.Contains("MigrateEnable", listener.Names);
    }

    [Fact]
    public async Task Stall_TaskWithoutPreemptionPoint_ReportedWithNameAndCpu()
    {
        await using var rt = RtScheduler.Start(new RtSchedulerOptions
        {
            CpuCount = 1,
            StallThreshold = TimeSpan.FromMilliseconds(10),
            BalanceTick = TimeSpan.FromMilliseconds(1),
        });
        var reports = new ConcurrentQueue<StallReport>();
        rt.StallDetected += reports.Enqueue;
        var hog = rt.Spawn("hog", 10, ctx =>
        {
            // No preemption point until a stall has been reported (bounded by the hang timeout).
            long deadline = RtClock.NowNs() + RtClock.ToNs(Rt.Hang);
            while (reports.IsEmpty && RtClock.NowNs() < deadline)
            {
                Thread.SpinWait(100);
            }

            return ValueTask.CompletedTask;
        });
        await hog.WithTimeout();
        StallReport r = Assert.Single(reports, r => r.Kind == "stall");
        Assert.Equal("hog", r.TaskName);
        Assert.Equal(0, r.Cpu);
        Assert.Equal(1, rt.StallCount);
    }

    [Fact]
    public async Task Snapshot_WithPinnedAndQueuedTasks_ShowsThemAndSerializes()
    {
        await using var rt = Rt.Start(cpus: 1);
        var gate = new RtEvent();
        var holder = rt.Spawn("holder", 30, async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                await gate.WaitAsync(ctx);
            }
        });
        await Rt.Until(() => rt.NrPinned(0) == 1 && holder.State == RtTaskState.Blocked, "holder pinned and asleep");
        RuntimeSnapshot snap = rt.Snapshot();
        CpuSnapshot cpu = Assert.Single(snap.Cpus);
        Assert.Equal(1, cpu.NrPinned);
        TaskSnapshot task = Assert.Single(snap.Tasks, t => t.Name == "holder");
        Assert.Equal(RtTaskState.Blocked, task.State);
        Assert.Equal(1, task.MigrateDisableDepth);
        Assert.Equal("0", task.EffectiveAffinity);
        using JsonDocument json = JsonDocument.Parse(snap.ToJson());
        Assert.Equal("holder", json.RootElement.GetProperty("Tasks")[0].GetProperty("Name").GetString());
        gate.Set();
        await holder.WithTimeout();
    }

    private sealed class Listener : EventListener
    {
        public ConcurrentBag<string> Names { get; } = [];

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "RtRuntime")
            {
                EnableEvents(eventSource, EventLevel.Verbose);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            if (eventData.EventName is { } name)
            {
                Names.Add(name);
            }
        }
    }
}
