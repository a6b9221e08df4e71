using RtRuntime.Tasks;

namespace RtRuntime.Tests.Diagnostics;

/// <summary>
/// sched_wakeup carries the priority the task wakes at. The kernel's tracepoint fires after
/// activate_task, with <c>p->prio</c> already changed by a sched_setparam on the sleeper; here such a
/// request waits for the wakeup's enqueue, after the tracepoint.
/// </summary>
public class WakeupTracePriorityTests
{
    [Fact]
    public async Task ASleeperRaisedWhileAsleep_WakesInTheTraceAtItsNewPriority()
    {
        using var recorder = new TaskEventRecorder();
        await using RtScheduler rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.StallThreshold = Rt.NoStallProbe;
        });
        var gate = new TaskCompletionSource();
        RtTask t = rt.Spawn("t", 10, async ctx =>
        {
            await gate.Task; // a foreign await: blocked, its priority request waits for its wakeup
        });
        await Rt.Until(() => t.State == RtTaskState.Blocked, "t blocked");
        recorder.Task = t.Id; // from here: its spawn's wakeup is left out

        rt.SetPriority(t, 60);
        gate.SetResult(); // the continuation is posted to t: its wakeup runs on this thread, with the event
        await t.WithTimeout();

        var wakeup = Assert.Single(recorder.Named("SchedWakeup"));
        Assert.Equal(60, wakeup["prio"]);
        Assert.Equal(0, wakeup["targetCpu"]);
        Assert.Equal(60, t.EffectivePriority); // a control: it did wake at 60
    }
}
