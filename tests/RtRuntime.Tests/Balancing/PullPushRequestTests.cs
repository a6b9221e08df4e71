using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using RtRuntime.Cpus;
using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Balancing;

/// <summary>
/// A pull that finds a pile-up (a migrate-disabled task waiting behind the source's running task) asks
/// for the runner's push only when some CPU runs below the runner now
/// (<c>BalanceRules.PushRunningHasTarget</c>). An idle CPU pulls again every <c>PullRecheckNs</c>;
/// before, each of its pulls asked for a push the stopper could not make, and in the simulator the
/// requests looped at one instant with a timer anticipation's spin (SimPushRequestTests).
/// </summary>
public class PullPushRequestTests
{
    [Fact]
    public async Task AnIdleCpuSeesAPileUpWhoseRunnerHasNoCpuBelow_AndAsksNoPush()
    {
        // The tick asks without looking: not what is tested. p must reach cpu0's queue while r passes no
        // point (a task on the wake list waits for one).
        await using RtScheduler rt = StartWithoutTick(cpus: 3, wakeList: false);
        var busy = new BusyUntilStopped();
        int releaseR = 0;
        var wake = new RtEvent();
        using var pulls = new PullListener();

        // h keeps cpu1 above r. p sleeps pinned on cpu0 (allowed on cpu0 and cpu2).
        RtTask h = rt.Spawn("h", 90, busy.Body, affinity: CpuSet.Of(1));
        await Rt.Until(() => h.State == RtTaskState.Running, "h running on cpu1");
        int pPinned = 0;
        RtTask p = rt.Spawn("p", 10, async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                Volatile.Write(ref pPinned, 1);
                await wake.WaitAsync(ctx);
            }
        }, affinity: CpuSet.Of(0, 2));
        await Rt.Until(() => p.State == RtTaskState.Blocked && Volatile.Read(ref pPinned) == 1, "p blocked, pinned");
        Assert.Equal(0, p.CurrentCpu);

        // r (allowed on cpu0 and cpu1) runs on cpu0 without preemption points; p wakes and waits behind it.
        RtTask r = rt.Spawn("r", 50, ctx =>
        {
            ctx.SpinWithoutPointsUntil(() => Volatile.Read(ref releaseR) != 0, "r released");
            return ValueTask.CompletedTask;
        }, affinity: CpuSet.Of(0, 1));
        await Rt.Until(() => r.State == RtTaskState.Running && r.CurrentCpu == 0, "r running on cpu0");
        pulls.Watch(p.Id);
        wake.Set();
        await Rt.Until(() => Rt.QueuedOn(rt.Cpus[0], p), "p queued on cpu0 behind r");

        // cpu2 runs a short task, then pulls from cpu0 and finds p pinned (the MigratePull event); it
        // parks for PullRecheckNs and pulls again. Its second pull starts after the first one's request
        // was decided, and r passes no point, so a request would still be in flight: none may be, since
        // r has no CPU below it (cpu1 runs 90, cpu2 is not in its mask).
        await rt.Spawn("kick", 1, _ => ValueTask.CompletedTask, affinity: CpuSet.Of(2)).WithTimeout();
        await Rt.Until(() => pulls.Seen >= 2, "cpu2 pulled twice and found p pinned");
        Assert.Null(rt.Cpus[0].PushTarget);

        Volatile.Write(ref releaseR, 1);
        busy.Stop();
        await new[] { h, p, r }.AllWithTimeout();
    }

    [Fact]
    public async Task APinnedTaskWakesBehindAHigherRunner_TheRunnerMovesToAnIdleCpu()
    {
        // WorkConserving: p (10) sleeps pinned on cpu0; r (50, allowed on cpu0 and cpu2) runs there. When
        // p wakes behind r, r is asked to move (cpu2 is idle): p runs at once, not at the rebalancer's
        // tick. Idle cpu2 is parked and would not look by itself.
        await using RtScheduler rt = StartWithoutTick(cpus: 3); // (the tick would not repair this one: p, affine to cpu0 alone, is not pushable)
        var busy = new BusyUntilStopped();
        var wake = new RtEvent();
        RtTask h = rt.Spawn("h", 90, busy.Body, affinity: CpuSet.Of(1));
        await Rt.Until(() => h.State == RtTaskState.Running, "h running on cpu1");
        RtTask p = await Rt.SpawnPinnedSleeperAsync(rt, "p", 10, cpu: 0, wake);
        RtTask r = rt.Spawn("r", 50, busy.Body, affinity: CpuSet.Of(0, 2));
        await Rt.Until(() => r.State == RtTaskState.Running, "r running");
        Assert.Equal(0, r.CurrentCpu);

        wake.Set();
        await p.WithTimeout();
        Assert.Equal(2, r.CurrentCpu);

        busy.Stop();
        await new[] { h, r }.AllWithTimeout();
    }

    [Fact]
    public async Task ALocalLockHandedToAPinnedWaiterBehindItsHigherHolder_TheHolderMovesToAnIdleCpu()
    {
        // l (50, allowed on cpu0 and cpu2) holds cpu0's local lock and sleeps in its section; w (30, cpu0
        // only) runs meanwhile and blocks on the lock. l's unlock hands the lock to w, which wakes pinned
        // behind l: l, migratable again, is asked to move to idle cpu2, and w runs. (w used to be woken
        // while l was still inside its section, pinned, so no push could be asked then or later.)
        await using RtScheduler rt = StartWithoutTick(cpus: 3);
        var busy = new BusyUntilStopped();
        var localLock = new LocalLock(rt, "handover");
        int lLocked = 0, release = 0, wRan = 0;
        RtTask h = rt.Spawn("h", 90, busy.Body, affinity: CpuSet.Of(1));
        await Rt.Until(() => h.State == RtTaskState.Running, "h running on cpu1");
        RtTask l = rt.Spawn("l", 50, async ctx =>
        {
            using (LocalLockGuard guard = await localLock.LockAsync(ctx))
            {
                Volatile.Write(ref lLocked, 1);
                while (Volatile.Read(ref release) == 0)
                {
                    await ctx.Sleep(TimeSpan.FromMilliseconds(1)); // a sleeping lock's holder may block: w runs
                }
            }

            await ctx.SpinUntil(() => Volatile.Read(ref wRan) != 0, "w ran");
        }, affinity: CpuSet.Of(0, 2));
        await Rt.Until(() => Volatile.Read(ref lLocked) == 1, "l holding the lock");
        Assert.Equal(0, l.CurrentCpu);

        RtTask w = rt.Spawn("w", 30, async ctx =>
        {
            using LocalLockGuard guard = await localLock.LockAsync(ctx);
            Volatile.Write(ref wRan, 1);
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => w.State == RtTaskState.Blocked, "w blocked on the lock");
        Volatile.Write(ref release, 1);

        await l.WithTimeout();
        await w.WithTimeout();
        Assert.Equal(2, l.CurrentCpu);

        busy.Stop();
        await h.WithTimeout();
    }

    [Fact]
    public async Task APinnedWakeupsTargetRisesAboveThePinnedTaskBeforeTheRunnersPoint_TheStopperKeepsTheRunner()
    {
        // p (10) wakes pinned on cpu0 behind r (50) while q runs at 5 on cpu1: r's push is asked, bound to
        // a target below 10. Before r's next point q raises itself to 30: the stopper must keep r, not
        // move it onto cpu1, where q would wait for p.
        await using RtScheduler rt = StartWithoutTick(cpus: 2);
        var busy = new BusyUntilStopped();
        var wake = new RtEvent();
        int raise = 0, raised = 0, release = 0, rPoints = 0;
        RtTask q = rt.Spawn("q", 5, async ctx =>
        {
            while (!busy.IsStopped)
            {
                if (Volatile.Read(ref raise) == 1 && Volatile.Read(ref raised) == 0)
                {
                    ctx.SetPriority(30);
                    Volatile.Write(ref raised, 1);
                }

                await ctx.PreemptionPoint();
            }
        }, affinity: CpuSet.Of(1));
        RtTask p = await Rt.SpawnPinnedSleeperAsync(rt, "p", 10, cpu: 0, wake);
        RtTask r = rt.Spawn("r", 50, async ctx =>
        {
            ctx.SpinWithoutPointsUntil(() => Volatile.Read(ref release) == 1, "r released");
            while (!busy.IsStopped)
            {
                await ctx.PreemptionPoint();
                Interlocked.Increment(ref rPoints);
            }
        }, affinity: CpuSet.Of(0, 1));
        await Rt.Until(() => r.State == RtTaskState.Running && q.State == RtTaskState.Running, "r and q running");
        Assert.Equal(0, r.CurrentCpu);

        wake.Set(); // asks for r's push (q runs at 5, below p), carried out at r's next point
        Volatile.Write(ref raise, 1);
        await Rt.Until(() => Volatile.Read(ref raised) == 1, "q at 30");
        Volatile.Write(ref release, 1);
        await Rt.Until(() => Volatile.Read(ref rPoints) >= 3, "r past three points");

        Assert.Equal(0, r.CurrentCpu);
        Assert.False(p.IsCompleted);

        busy.Stop();
        await new[] { q, r, p }.AllWithTimeout();
    }

    /// <summary>A runtime whose rebalancer tick (10 s) and stall probe do not come during a test.</summary>
    private static RtScheduler StartWithoutTick(int cpus, bool wakeList = true) => Rt.Start(o =>
    {
        o.CpuCount = cpus;
        o.BalanceTick = TimeSpan.FromSeconds(10);
        o.StallThreshold = Rt.NoStallProbe;
        o.WakeList = wakeList;
    });

    /// <summary>Counts the runtime's MigratePull events (a pull found a migrate-disabled task) for one task.</summary>
    private sealed class PullListener : EventListener
    {
        private long _task = -1;
        private int _seen;

        public int Seen => Volatile.Read(ref _seen);

        public void Watch(long task) => Volatile.Write(ref _task, task);

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "RtRuntime")
            {
                EnableEvents(eventSource, EventLevel.Verbose);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            if (eventData.EventName == "MigratePull" && eventData.Payload is [long task, ..] && task == Volatile.Read(ref _task))
            {
                Interlocked.Increment(ref _seen);
            }
        }
    }
}
