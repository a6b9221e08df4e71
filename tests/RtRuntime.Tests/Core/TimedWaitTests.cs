using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// Timed waits on wait queues (<c>wait_event_timeout</c>, <c>down_timeout</c>): true when the wait got
/// the resource, false when its deadline passed first (nothing taken then); the timeout's timer never
/// outlives the wait, whichever way it ended. Outcomes only: no elapsed time is asserted, beyond a timed
/// out wait never returning before its own deadline.
/// </summary>
public class TimedWaitTests
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    [Fact]
    public async Task EventNeverSet_ReturnsFalse_NotBeforeItsDeadline_AndLeavesNoWaiterOrTimer()
    {
        await using var rt = Rt.Start(cpus: 1);
        var ev = new RtEvent();
        long deadline = 0, returnedAt = 0;
        bool got = await rt.Spawn<bool>("waiter", 20, async ctx =>
        {
            deadline = RtClock.NowNs() + 20_000_000;
            bool result = await ev.WaitUntilAsync(ctx, deadline);
            returnedAt = RtClock.NowNs();
            return result;
        }).WithTimeout();

        Assert.False(got);
        Assert.True(returnedAt >= deadline, "a timed-out wait returned before its deadline");
        Assert.Equal(0, ev.WaiterCount);
        Assert.False(ev.IsSet);
        Assert.Equal(long.MaxValue, rt.Cpus[0].NextDeadline);
    }

    [Fact]
    public async Task EventSetBeforeTheDeadline_ReturnsTrue_AndItsTimerIsDisarmed()
    {
        await using var rt = Rt.Start(cpus: 2);
        var ev = new RtEvent();
        RtTask<bool> waiter = rt.Spawn<bool>("waiter", 20, async ctx => await ev.WaitAsync(ctx, Hour), affinity: CpuSet.Of(1));
        await Rt.Until(() => ev.WaiterCount == 1 && waiter.State == RtTaskState.Blocked, "waiter blocked");
        Assert.NotEqual(long.MaxValue, rt.Cpus[1].NextDeadline); // its timeout is armed on its CPU

        ev.Set();
        Assert.True(await waiter.WithTimeout());
        Assert.Equal(long.MaxValue, rt.Cpus[1].NextDeadline);
        Assert.Equal(0, waiter.TimerSlot);
    }

    [Fact]
    public async Task Semaphore_ATimedOutWaitTakesNoPermit_AGrantedOneTakesOne()
    {
        await using var rt = Rt.Start(cpus: 2);
        var sem = new RtSemaphore(0);
        Assert.False(await rt.Spawn<bool>("short", 20, async ctx => await sem.WaitAsync(ctx, TimeSpan.FromMilliseconds(10))).WithTimeout());

        sem.Release(); // nobody waits: banked, not handed to the wait that timed out
        Assert.Equal(1, sem.CurrentCount);
        Assert.True(await rt.Spawn<bool>("now", 20, async ctx => await sem.WaitAsync(ctx, TimeSpan.Zero)).WithTimeout());
        Assert.Equal(0, sem.CurrentCount);
        Assert.False(await rt.Spawn<bool>("zero", 20, async ctx => await sem.WaitAsync(ctx, TimeSpan.Zero)).WithTimeout());

        RtTask<bool> waiter = rt.Spawn<bool>("long", 20, async ctx => await sem.WaitAsync(ctx, Hour));
        await Rt.Until(() => sem.WaiterCount == 1, "long waits");
        sem.Release();
        Assert.True(await waiter.WithTimeout());
        Assert.Equal(0, sem.CurrentCount);
    }

    [Fact]
    public async Task ACancelledTimedWaitThrows_AndItsTimerIsDisarmed()
    {
        await using var rt = Rt.Start(cpus: 1);
        var ev = new RtEvent();
        RtTask<bool> waiter = rt.Spawn<bool>("waiter", 20, async ctx => await ev.WaitAsync(ctx, Hour));
        await Rt.Until(() => ev.WaiterCount == 1 && waiter.State == RtTaskState.Blocked, "waiter blocked");

        waiter.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiter.WithTimeout());
        Assert.Equal(RtTaskState.Cancelled, waiter.State);
        Assert.Equal(0, ev.WaiterCount);
        Assert.Equal(long.MaxValue, rt.Cpus[0].NextDeadline);
        Assert.Equal(0, waiter.TimerSlot);
    }

    [Fact]
    public async Task PermitsAreConserved_WhenTimeoutsRaceReleases()
    {
        // Waiters with short timeouts on two CPUs race a releaser: whatever wins each race, every permit
        // released is either taken by exactly one wait that returned true or still banked.
        const int Waiters = 8, Rounds = 300, Releases = 600;
        await using var rt = Rt.Start(cpus: 2);
        var sem = new RtSemaphore(0);
        int acquired = 0;
        var tasks = new List<RtTask>();
        for (int w = 0; w < Waiters; w++)
        {
            int me = w;
            tasks.Add(rt.Spawn($"w{w}", 10 + (me % 3), async ctx =>
            {
                for (int r = 0; r < Rounds; r++)
                {
                    if (await sem.WaitAsync(ctx, TimeSpan.FromMicroseconds(20 + ((me * 37 + r * 11) % 200))))
                    {
                        Interlocked.Increment(ref acquired);
                    }
                }
            }, affinity: CpuSet.Of(me % 2)));
        }

        tasks.Add(rt.Spawn("releaser", 30, async ctx =>
        {
            for (int i = 0; i < Releases; i++)
            {
                sem.Release();
                await ctx.Sleep(TimeSpan.FromMicroseconds(50));
            }
        }, affinity: CpuSet.Of(0)));

        foreach (RtTask t in tasks)
        {
            await t.WithTimeout();
        }

        Assert.Equal(Releases, Volatile.Read(ref acquired) + sem.CurrentCount);
        Assert.Equal(0, sem.WaiterCount);
        Assert.All(rt.Cpus, c => Assert.Equal(long.MaxValue, c.NextDeadline));
    }

    [Fact]
    public async Task ATimedWaitsTimerMovesWithHotplug_AndStillTimesOutOrIsDisarmed()
    {
        await using var rt = Rt.Start(cpus: 2);
        var never = new RtEvent();
        var later = new RtEvent();
        long deadline = RtClock.NowNs() + 300_000_000; // after the offline below, usually (nothing asserts it)
        RtTask<bool> timesOut = rt.Spawn<bool>("times-out", 20, async ctx => await never.WaitUntilAsync(ctx, deadline), affinity: CpuSet.Of(0, 1));
        RtTask<bool> granted = rt.Spawn<bool>("granted", 20, async ctx => await later.WaitAsync(ctx, Hour), affinity: CpuSet.Of(0, 1));
        await Rt.Until(() => never.WaiterCount == 1 && later.WaiterCount == 1, "both wait");
        int cpu = timesOut.CurrentCpu;

        await rt.OfflineAsync(cpu).WaitAsync(Rt.Hang); // their timers go to the other CPU
        later.Set();
        Assert.True(await granted.WithTimeout());
        Assert.False(await timesOut.WithTimeout());
        Assert.Equal(0, never.WaiterCount);
        Assert.All(rt.Cpus, c => Assert.Equal(long.MaxValue, c.NextDeadline));
        await rt.OnlineAsync(cpu).WaitAsync(Rt.Hang);
    }

    [Fact]
    public async Task StopEndsTimedWaiters_Cancelled_WithNoTimerLeft()
    {
        var rt = Rt.Start(cpus: 2);
        var ev = new RtEvent();
        RtTask[] waiters = Enumerable.Range(0, 4)
            .Select(i => (RtTask)rt.Spawn<bool>($"w{i}", 20, async ctx => await ev.WaitAsync(ctx, Hour), affinity: CpuSet.Of(i % 2)))
            .ToArray();
        await Rt.Until(() => ev.WaiterCount == 4, "all wait");

        ShutdownSummary summary = await rt.StopAsync(TimeSpan.FromMilliseconds(50)).WaitAsync(Rt.Hang);
        Assert.All(waiters, w => Assert.Equal(RtTaskState.Cancelled, w.State));
        Assert.Equal(0, ev.WaiterCount);
        Assert.All(rt.Cpus, c => Assert.Equal(long.MaxValue, c.NextDeadline));
        Assert.Equal(0, summary.Abandoned);
        await rt.DisposeAsync();
    }

    // Two flows of one task: a foreign await's continuation runs as posted work of the task while its
    // body's flow is blocked in a timed wait, and may itself try-take (a wait that completes at once).

    [Fact]
    public async Task ASecondFlowsTryTake_DoesNotDisarmTheBlockedFlowsTimeout()
    {
        await using var rt = Rt.Start(cpus: 1);
        var sem = new RtSemaphore(0);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool? sideGot = null;
        RtTask<bool> waiter = rt.Spawn<bool>("waiter", 20, async ctx =>
        {
            async Task Side()
            {
                await gate.Task; // resumes as posted work of this task, while the main flow waits
                sideGot = await sem.WaitAsync(ctx, TimeSpan.Zero); // a try-take: completes at once
            }

            _ = Side();
            // Long enough that the side flow runs before it expires on a loaded machine (at 100 ms it
            // expired first once, under load average 48, and the check below read it as disarmed);
            // a disarmed timeout still fails the last assertion, as a wait that never ends.
            return await sem.WaitAsync(ctx, TimeSpan.FromSeconds(2));
        });
        await Rt.Until(() => sem.WaiterCount == 1 && waiter.State == RtTaskState.Blocked, "waiter blocked");
        Assert.NotEqual(long.MaxValue, rt.Cpus[0].NextDeadline);

        gate.SetResult();
        await Rt.Until(() => sideGot is not null, "side flow ran");
        Assert.False(sideGot);
        Assert.NotEqual(long.MaxValue, rt.Cpus[0].NextDeadline); // the side flow's try-take left the main flow's timeout armed
        Assert.False(await waiter.WithTimeout()); // and it ends the main flow's wait
    }

    [Fact]
    public async Task ATimeoutsFlag_DoesNotLeakIntoASecondFlowsTimedWait()
    {
        await using var rt = Rt.Start(cpus: 2);
        var sem = new RtSemaphore(0);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool? sideGot = null;
        bool stopHog = false;
        bool hogRuns = false;
        RtTask? hog = null;
        RtTask<bool> waiter = rt.Spawn<bool>("waiter", 20, async ctx =>
        {
            async Task Side()
            {
                await gate.Task;
                sideGot = await sem.WaitAsync(ctx, TimeSpan.FromSeconds(10)); // a permit is banked: taken at once
            }

            _ = Side();

            // A higher task for cpu0, queued now: it runs once this task has blocked (listed on the
            // semaphore), and keeps cpu0 while the waiter's timeout fires (cpu1 fires it, or the hog's
            // points). Spawned by the test thread after seeing the waiter blocked, it raced the 20 ms
            // timeout, and a test thread that came late never saw the waiter blocked.
            Volatile.Write(ref hog, rt.Spawn("hog", 40, async hogCtx =>
            {
                Volatile.Write(ref hogRuns, true);
                await hogCtx.SpinUntil(() => Volatile.Read(ref stopHog), "released");
            }, affinity: CpuSet.Of(0)));
            return await sem.WaitAsync(ctx, TimeSpan.FromMilliseconds(20));
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => Volatile.Read(ref hogRuns), "the hog runs: the waiter has blocked");
        await Rt.Until(() => sem.WaiterCount == 0, "the waiter's timeout took it off the semaphore");
        await Rt.Until(() => waiter.State == RtTaskState.Runnable, "the waiter woken by its timeout, not run: the hog holds cpu0");

        sem.Release();      // banked: nobody waits
        gate.SetResult();   // the side flow is posted to the waiter, which is woken but not yet run
        await Task.Delay(20); // lets the post land first, usually; either order must give the same outcome
        Volatile.Write(ref stopHog, true);
        await Volatile.Read(ref hog)!.WithTimeout();

        bool mainGot = await waiter.WithTimeout();
        await Rt.Until(() => sideGot is not null, "side flow ran");
        Assert.Equal(0, sem.CurrentCount); // one permit was taken...
        Assert.Equal((SideGot: true, MainGot: false), (SideGot: sideGot!.Value, MainGot: mainGot)); // ...by the side flow; the main flow timed out
    }

    [Fact]
    public async Task BadInput_NegativeTimeout_AndATimedWaitWhilePreemptDisabled_ThrowAtOnce()
    {
        await using var rt = Rt.Start(cpus: 1);
        var ev = new RtEvent();
        string messages = await rt.Spawn<string>("bad", 20, ctx =>
        {
            var negative = Assert.Throws<ArgumentOutOfRangeException>(() => ev.WaitAsync(ctx, TimeSpan.FromMilliseconds(-1)));
            Assert.Equal("timeout", negative.ParamName);
            using (ctx.PreemptDisable())
            {
                var atomic = Assert.Throws<InvalidOperationException>(() => ev.WaitAsync(ctx, Hour));
                return ValueTask.FromResult(negative.Message + " | " + atomic.Message);
            }
        }).WithTimeout();

        Assert.Contains("zero or positive", messages, StringComparison.Ordinal);
        Assert.Contains("preempt-disabled", messages, StringComparison.Ordinal);
        Assert.True(await rt.Spawn<bool>("still-runs", 20, async ctx => !await ev.WaitAsync(ctx, TimeSpan.Zero)).WithTimeout());
    }
}
