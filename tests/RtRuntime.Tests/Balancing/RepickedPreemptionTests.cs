using RtRuntime.Cpus;
using RtRuntime.Tasks;
using RtRuntime.Tests.Diagnostics;

namespace RtRuntime.Tests.Balancing;

/// <summary>
/// A preempted task picked again before any other task ran on its CPU was not preempted: __schedule
/// counts <c>nivcsw</c> (and <c>rq->nr_switches</c>) only when <c>prev != next</c>. Here the preempter of
/// a migrate-disabled task is pushed away on sight (WorkConserving's repair) between the switch-out and
/// the pick.
/// </summary>
public class RepickedPreemptionTests
{
    [Fact]
    public async Task APinnedTasksPreempterPushedAwayBeforeThePick_CountsNoPreemption_ForTheTaskOrTheCpu()
    {
        // cpu1 runs L (20, pinned there). P (30) runs migrate-disabled on cpu0 without points while X
        // (83) queues there to preempt it. At P's point X preempts it and is pushed to cpu1 (L is lower)
        // before it runs: cpu0 picks P again.
        await using RtScheduler rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.BalanceTick = TimeSpan.FromSeconds(10);
            o.StallThreshold = Rt.NoStallProbe;
            o.WakeList = false; // x must reach cpu0's queue while p passes no point (a listed task waits for one)
        });
        var busy = new BusyUntilStopped();
        int go = 0;
        RtTask l = rt.Spawn("l", 20, busy.Body, affinity: CpuSet.Of(1));
        await Rt.Until(() => l.State == RtTaskState.Running, "l running");
        RtTask<long> p = rt.Spawn<long>("p", 30, async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                ctx.SpinWithoutPointsUntil(() => Volatile.Read(ref go) == 1, "released");
                await ctx.PreemptionPoint(); // x preempts here, and is pushed to cpu1
                return ctx.Task.Preemptions;
            }
        }, affinity: CpuSet.Of(0, 1));
        await Rt.Until(() => p.State == RtTaskState.Running && p.CurrentCpu == 0, "p running on cpu0");

        RtTask x = rt.Spawn("x", 83, busy.Body, affinity: CpuSet.Of(0));
        await Rt.Until(() => Rt.QueuedOn(rt.Cpus[0], x), "x queued on cpu0 to preempt p");
        await rt.SetAffinityAsync(x, CpuSet.Of(0, 1)).WithTimeout(); // queued inside the mask: it runs on cpu0 next
        Assert.True(Rt.QueuedOn(rt.Cpus[0], x));
        long cpuPreemptionsBefore = Volatile.Read(ref rt.Cpus[0].Preemptions);

        Volatile.Write(ref go, 1);
        Assert.Equal(0, await p.WithTimeout()); // picked again at once after that point: no preemption
        Assert.Equal(1, x.CurrentCpu);
        Assert.Equal(1, p.Switches); // and no switch: prev == next
        Assert.Equal(0, Volatile.Read(ref rt.Cpus[0].Preemptions) - cpuPreemptionsBefore);

        busy.Stop();
        await Task.WhenAll(l.WithTimeout(), x.WithTimeout());
        Assert.Equal(1, l.Preemptions); // a control: x preempted l on cpu1 and ran there
    }

    [Fact]
    public async Task APinnedTasksPreempterPushedAwayBeforeThePick_RecordsNoInterference()
    {
        // The scenario above: p (30, migrate-disabled on cpu0) is preempted by x (83), which is pushed
        // to cpu1 before cpu0 picks again, so p is picked again at once. Its preemption is taken back,
        // and so is the interference its switch-out started: none in RtTask.Interference, no
        // Interference tracepoint (which fires, with whatever time, whenever a pinned task's
        // interference ends, so it tells a short interference from none).
        using var recorder = new TaskEventRecorder();
        await using RtScheduler rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.BalanceTick = TimeSpan.FromSeconds(10);
            o.StallThreshold = Rt.NoStallProbe;
            o.WakeList = false; // x must reach cpu0's queue while p passes no point (a listed task waits for one)
        });
        var busy = new BusyUntilStopped();
        int go = 0;
        RtTask l = rt.Spawn("l", 20, busy.Body, affinity: CpuSet.Of(1));
        await Rt.Until(() => l.State == RtTaskState.Running, "l running");
        RtTask<TimeSpan> p = rt.Spawn<TimeSpan>("p", 30, async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                ctx.SpinWithoutPointsUntil(() => Volatile.Read(ref go) == 1, "released");
                await ctx.PreemptionPoint(); // x preempts here, and is pushed to cpu1
                Assert.Equal(0, ctx.Task.Preemptions);
                return ctx.Task.Interference;
            }
        }, affinity: CpuSet.Of(0, 1));
        recorder.Task = p.Id;
        await Rt.Until(() => p.State == RtTaskState.Running && p.CurrentCpu == 0, "p running on cpu0");

        RtTask x = rt.Spawn("x", 83, busy.Body, affinity: CpuSet.Of(0));
        await Rt.Until(() => Rt.QueuedOn(rt.Cpus[0], x), "x queued on cpu0 to preempt p");
        await rt.SetAffinityAsync(x, CpuSet.Of(0, 1)).WithTimeout(); // queued inside the mask: it runs on cpu0 next
        Assert.True(Rt.QueuedOn(rt.Cpus[0], x));

        Volatile.Write(ref go, 1);
        Assert.Equal(TimeSpan.Zero, await p.WithTimeout());
        Assert.Equal(1, x.CurrentCpu);
        Assert.Empty(recorder.Named("Interference"));
        Assert.Contains(recorder.Named("MigrateEnable"), e => (int)e["cpu"]! == 0); // a control: the recorder saw p's events

        busy.Stop();
        await Task.WhenAll(l.WithTimeout(), x.WithTimeout());
    }
}
