using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// The wake list (ttwu_queue_wakelist): tasks a thread off the CPU wakes or spawns there are listed
/// and queued by the CPU's own thread, in wake order, whether the CPU idles or is busy meanwhile.
/// </summary>
public class WakeListTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)] // the locked path keeps the same order
    public async Task SpawnBurstFromOtherThread_WhileCpuIdlesThenBusy_RunsInSpawnOrder(bool wakeList)
    {
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.WakeList = wakeList;
        });
        const int Count = 300;
        var order = new List<int>(Count);
        var spawned = new List<RtTask>(Count);

        // The first spawns find CPU0 idle (listed, then drained at its next turn); the later ones find it
        // running the earlier ones (listed, drained at its next pick or preemption point).
        for (int i = 0; i < Count; i++)
        {
            int n = i;
            spawned.Add(rt.Spawn("t" + n, 10, async ctx =>
            {
                lock (order)
                {
                    order.Add(n); // only CPU0 runs these, one at a time; the lock publishes to the test
                }

                await ctx.PreemptionPoint();
            }, affinity: CpuSet.Of(0)));
        }

        await spawned.AllWithTimeout();
        Assert.Equal(Enumerable.Range(0, Count), order);
        Assert.All(spawned, t => Assert.Equal(0, t.CurrentCpu));
    }

    [Fact]
    public async Task WakeupFromOtherThread_OfHigherTaskWhileLowerRuns_PreemptsAtTheNextPreemptionPoint()
    {
        await using var rt = Rt.Start(cpus: 1);
        var log = new EventLog();
        var ev = new RtEvent(autoReset: true);
        var lowRunning = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var high = rt.Spawn("H", 80, async ctx =>
        {
            await ev.WaitAsync(ctx);
            log.Add("H:woken");
        });
        await Rt.Until(() => high.State == RtTaskState.Blocked, "H waits");
        bool set = false;
        var low = rt.Spawn("L", 10, async ctx =>
        {
            lowRunning.SetResult();
            SpinWait spin = default;
            while (!Volatile.Read(ref set))
            {
                spin.SpinOnce(sleep1Threshold: -1); // no preemption point: H stays listed meanwhile
            }

            log.Add("L:point after set");
            await ctx.PreemptionPoint(); // H runs here
            log.Add("L:end");
        });
        await lowRunning.Task.WithTimeout();

        ev.Set(); // from the test thread: H is listed on the busy CPU
        Volatile.Write(ref set, true);
        await high.WithTimeout();
        await low.WithTimeout();

        Assert.Equal(["L:point after set", "H:woken", "L:end"], log.Snapshot());
    }

    [Fact]
    public async Task TaskListedOnCpuThatGoesOffline_IsSentToAnActiveCpuWhenTheListIsDrained()
    {
        await using var rt = Rt.Start(cpus: 2);
        var release = new ManualResetEventSlim();
        RtTask hog = await HoldCpu1WithoutPreemptionPointsAsync(rt, release); // then its point drains the list (balance_push would move X too)

        var x = rt.Spawn<int>("X", 50, ctx => ValueTask.FromResult(ctx.RawCpuId), affinity: CpuSet.Of(1)); // listed on busy CPU1
        Assert.Equal(1, x.CurrentCpu); // set_task_cpu before listing
        Task offline = rt.OfflineAsync(1); // inactive at once; waits for the hog to leave
        release.Set();

        Assert.Equal(0, await x.WithTimeout());
        Assert.Equal(CpuSet.Of(0, 1), x.Affinity); // select_fallback_rq widened it
        await offline.WithTimeout();
        await hog.WithTimeout();
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task TaskListedOnCpu_WhoseAffinityThenExcludesIt_RunsInsideItsNewMask()
    {
        await using var rt = Rt.Start(cpus: 2);
        var release = new ManualResetEventSlim();
        RtTask hog = await HoldCpu1WithoutPreemptionPointsAsync(rt, release);

        var x = rt.Spawn<int>("X", 50, ctx => ValueTask.FromResult(ctx.RawCpuId), affinity: CpuSet.Of(1)); // listed on busy CPU1
        Task moved = rt.SetAffinityAsync(x, CpuSet.Of(0)); // X is on no run queue yet: its drain must send it on
        release.Set();

        Assert.Equal(0, await x.WithTimeout());
        await moved.WithTimeout();
        await hog.WithTimeout();
    }

    /// <summary>A task at priority 90 on CPU1 that passes no preemption point until released (so CPU1 drains nothing), then passes one.</summary>
    private static async Task<RtTask> HoldCpu1WithoutPreemptionPointsAsync(RtScheduler rt, ManualResetEventSlim release)
    {
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var hog = rt.Spawn("hog", 90, async ctx =>
        {
            running.SetResult();
            SpinWait spin = default;
            while (!release.IsSet)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }

            await ctx.PreemptionPoint();
        }, affinity: CpuSet.Of(1));
        await running.Task.WithTimeout();
        return hog;
    }
}
