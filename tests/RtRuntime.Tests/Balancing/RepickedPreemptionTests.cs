using Microsoft.Extensions.Diagnostics.Metrics.Testing;
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
        await using RtScheduler rt = StartTwoCpus();
        var busy = new BusyUntilStopped();
        int go = 0;
        RtTask l = await StartLowOnCpu1Async(rt, busy);
        RtTask<long> p = await StartPinnedPOnCpu0Async(rt, () => Volatile.Read(ref go) == 1);

        RtTask x = await QueueXToPreemptPAsync(rt, busy);
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
        await using RtScheduler rt = StartTwoCpus();
        var busy = new BusyUntilStopped();
        int go = 0;
        RtTask l = await StartLowOnCpu1Async(rt, busy);
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

        RtTask x = await QueueXToPreemptPAsync(rt, busy);
        Assert.True(Rt.QueuedOn(rt.Cpus[0], x));

        Volatile.Write(ref go, 1);
        Assert.Equal(TimeSpan.Zero, await p.WithTimeout());
        Assert.Equal(1, x.CurrentCpu);
        Assert.Empty(recorder.Named("Interference"));
        Assert.Contains(recorder.Named("MigrateEnable"), e => (int)e["cpu"]! == 0); // a control: the recorder saw p's events

        busy.Stop();
        await Task.WhenAll(l.WithTimeout(), x.WithTimeout());
    }

    [Fact]
    public async Task APreemptionTakenBack_NeverShowsInTheCpusOrTheTasksCount_WhichOnlyGrow()
    {
        // The scenario above, with cpu1's lock held while cpu0 pushes x there: cpu0's thread stops
        // between p's switch-out and its pick of p again (the take-back). rtruntime.cpu.preemptions is an
        // ObservableCounter (monotonic: a collector takes a drop for a reset), and RtTask.Preemptions a
        // count a metrics user samples the same way: read in that window, neither may show the
        // preemption that the pick then takes back.
        await using RtScheduler rt = StartTwoCpus();
        using var preemptions = new MetricCollector<long>(rt.Metrics.Meter, "rtruntime.cpu.preemptions");
        long Cpu0Counter()
        {
            preemptions.RecordObservableInstruments();
            return preemptions.GetMeasurementSnapshot(clear: true).Single(m => (int)m.Tags["cpu"]! == 0).Value;
        }

        var busy = new BusyUntilStopped();
        int go = 0;
        RtTask l = await StartLowOnCpu1Async(rt, busy);
        RtTask<long> p = await StartPinnedPOnCpu0Async(rt, () => Volatile.Read(ref go) == 1);

        RtTask x = await QueueXToPreemptPAsync(rt, busy);
        long before = Cpu0Counter();

        long inWindow;
        long taskInWindow;
        using (new CpuLockHold(rt.Cpus[1]))
        {
            Volatile.Write(ref go, 1);
            // p switched out at its point, cpu0 stopped at x's push to cpu1, before its next pick.
            await Rt.Until(() => p.State == RtTaskState.Runnable && rt.Cpus[0].Running is null, "p switched out at its point");
            // (Nothing here may take cpu0's lock: cpu0's thread holds it, waiting for cpu1's.)
            inWindow = Cpu0Counter();
            taskInWindow = p.Preemptions;
        }

        Assert.Equal(0, await p.WithTimeout()); // picked again at once: the preemption was none
        Assert.Equal(1, x.CurrentCpu);
        long after = Cpu0Counter();
        Assert.True(after >= inWindow, $"rtruntime.cpu.preemptions went down: {inWindow} in the window, then {after}");
        Assert.Equal(before, inWindow);
        Assert.Equal(before, after);
        Assert.True(p.Preemptions >= taskInWindow, $"RtTask.Preemptions went down: {taskInWindow} in the window, then {p.Preemptions}");
        Assert.Equal(0, taskInWindow);

        busy.Stop();
        await Task.WhenAll(l.WithTimeout(), x.WithTimeout());
    }

    // The scenario every test here shares: cpu1 runs l (20, pinned there), p (30) runs on cpu0 inside
    // migrate_disable without points, and x (83) waits on cpu0's queue to preempt it, allowed on both CPUs.
    /// <summary>
    /// p (30), migrate-disabled on cpu0, spins without points until <paramref name="released"/>, then
    /// passes the point where x preempts it (and is pushed to cpu1), and returns its preemption count.
    /// </summary>
    private static async Task<RtTask<long>> StartPinnedPOnCpu0Async(RtScheduler rt, Func<bool> released)
    {
        RtTask<long> p = rt.Spawn<long>("p", 30, async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                ctx.SpinWithoutPointsUntil(released, "released");
                await ctx.PreemptionPoint(); // x preempts here, and is pushed to cpu1
                return ctx.Task.Preemptions;
            }
        }, affinity: CpuSet.Of(0, 1));
        await Rt.Until(() => p.State == RtTaskState.Running && p.CurrentCpu == 0, "p running on cpu0");
        return p;
    }

    private static RtScheduler StartTwoCpus() => Rt.Start(o =>
    {
        o.CpuCount = 2;
        o.BalanceTick = TimeSpan.FromSeconds(10);
        o.StallThreshold = Rt.NoStallProbe;
        o.WakeList = false; // x must reach cpu0's queue while p passes no point (a listed task waits for one)
    });

    private static async Task<RtTask> StartLowOnCpu1Async(RtScheduler rt, BusyUntilStopped busy)
    {
        RtTask l = rt.Spawn("l", 20, busy.Body, affinity: CpuSet.Of(1));
        await Rt.Until(() => l.State == RtTaskState.Running, "l running");
        return l;
    }

    private static async Task<RtTask> QueueXToPreemptPAsync(RtScheduler rt, BusyUntilStopped busy)
    {
        RtTask x = rt.Spawn("x", 83, busy.Body, affinity: CpuSet.Of(0));
        await Rt.Until(() => Rt.QueuedOn(rt.Cpus[0], x), "x queued on cpu0 to preempt p");
        await rt.SetAffinityAsync(x, CpuSet.Of(0, 1)).WithTimeout(); // queued inside the mask: it runs on cpu0 next
        return x;
    }
}
