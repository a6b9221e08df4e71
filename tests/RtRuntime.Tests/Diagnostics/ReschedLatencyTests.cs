using System.Collections.Concurrent;
using RtRuntime.Cpus;
using RtRuntime.Scheduling;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Diagnostics;

/// <summary>
/// The need_resched latency warning (LATENCY_WARN, "resched-latency" stall reports) counts from the
/// first sample that sees need_resched pending until a switch, not until the next step: a
/// preempt-disabled task's points still end steps for interrupt work (the wake list, due timers).
/// </summary>
public class ReschedLatencyTests
{
    /// <summary>
    /// A preempt-disabled task keeps a higher one waiting (need_resched pending). A wakeup queued to its
    /// CPU from another thread makes its next point take the slow path for the wake list (the
    /// "interrupt" work a preempt-disabled point still does), which ends a step without any switch:
    /// need_resched stays pending, and its LATENCY_WARN clock must keep running. The detector is driven
    /// by hand (a rebalancer of the test's own, with chosen clock readings) so that the outcome does not
    /// depend on when the runtime's own rebalancer happens to sample.
    /// </summary>
    [Fact]
    public async Task ReschedLatency_KeepsCounting_WhenAPreemptDisabledTasksStepEndsForWakeListWork()
    {
        var options = new RtSchedulerOptions
        {
            CpuCount = 1,
            ReschedLatencyWarn = TimeSpan.FromSeconds(60), // the runtime's own rebalancer never reports
            StallThreshold = Rt.NoStallProbe,
        };
        await using var rt = RtScheduler.Start(options);
        var reports = new ConcurrentQueue<StallReport>();
        rt.StallDetected += reports.Enqueue;
        var started = new RtEvent();
        var release = new RtEvent();
        Cpu cpu0 = rt.Cpus[0];
        var low = rt.Spawn("low", 10, async ctx =>
        {
            using (ctx.PreemptDisable())
            {
                started.Set();
                while (!release.IsSet)
                {
                    await ctx.PreemptionPoint(); // cannot be preempted; does wake-list work in a slow path
                }
            }
        });
        await Rt.Until(() => started.IsSet, "low preempt-disabled");
        var high = rt.Spawn("high", 90, _ => ValueTask.CompletedTask);
        await Rt.Until(() => (cpu0.Pending & PendingWork.NeedResched) != 0 && cpu0.Rq.Count >= 1, "need_resched pending for high");

        var detector = new Rebalancer(rt, rt.Cpus, tickNs: 1_000_000, new RtSchedulerOptions
        {
            ReschedLatencyWarn = TimeSpan.FromMilliseconds(10), // the detector's own threshold
            StallThreshold = Rt.NoStallProbe,
        });
        long t0 = RtClock.NowNs();
        detector.DetectStalls(t0); // need_resched seen pending: its clock starts

        long seq = Volatile.Read(ref cpu0.StepSeq);
        var filler = rt.Spawn("filler", 1, _ => ValueTask.CompletedTask); // through cpu0's wake list: low's next point drains it
        await Rt.Until(() => Volatile.Read(ref cpu0.StepSeq) != seq, "low's step ended for the wake list");
        Assert.True((cpu0.Pending & PendingWork.NeedResched) != 0, "need_resched is still pending");
        Assert.Equal("low", cpu0.Running?.Name);

        detector.DetectStalls(t0 + RtClock.ToNs(TimeSpan.FromMilliseconds(20)));
        release.Set();
        await low.WithTimeout();
        await high.WithTimeout();
        await filler.WithTimeout();
        detector.Dispose();

        StallReport r = Assert.Single(reports, r => r.Kind == "resched-latency");
        Assert.Equal("low", r.TaskName);
        Assert.Equal(TimeSpan.FromMilliseconds(20), r.Duration);
    }
}
