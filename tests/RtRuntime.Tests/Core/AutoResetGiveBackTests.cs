using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// An auto-reset <see cref="RtEvent"/>'s signal granted to a waiter that ends before it resumes to take
/// it (here: a stop's thread ends it while it is queued, as StopAsync ends the tasks queued behind a
/// task that never stops) is given back: to the next waiter if there is one, else to the event, unless
/// a Reset came after the grant (a Reset after a Set wins, as for AutoResetEvent and the kernel's
/// reinit_completion).
/// </summary>
public class AutoResetGiveBackTests
{
    [Theory]
    [InlineData(false, false, true)] // no Reset: the signal is restored
    [InlineData(true, false, true)] // a Reset before the Set only: no Reset since the grant, restored
    [InlineData(false, true, false)] // a Reset after the Set: it wins, the event stays reset
    [InlineData(true, true, false)]
    public async Task AGrantGivenBackWithNoOtherWaiter_SetsTheEventOnlyIfNoResetCameSinceTheGrant(bool resetBeforeSet, bool resetAfterSet, bool setAfterGiveBack)
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        var ev = new RtEvent(autoReset: true);
        RtTask w = rt.Spawn("w", 10, async ctx => await ev.WaitAsync(ctx));
        await Rt.Until(() => ev.WaiterCount == 1, "w waits");
        bool? isSet = null;
        RtTask s = rt.Spawn("s", 20, _ =>
        {
            if (resetBeforeSet)
            {
                ev.Reset();
            }

            ev.Set(); // granted to w, which is queued behind s on this one CPU and does not run yet
            if (resetAfterSet)
            {
                ev.Reset();
            }

            EndQueuedOnAnotherThread(rt, w); // w ends without resuming: its grant is given back
            isSet = ev.IsSet;
            return ValueTask.CompletedTask;
        });
        await s.WithTimeout();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => w.WithTimeout());
        Assert.Equal(setAfterGiveBack, isSet);
        Assert.Equal(setAfterGiveBack, ev.IsSet);
        Assert.Equal(0, ev.WaiterCount);
    }

    [Fact]
    public async Task AGrantGivenBackAfterAReset_GoesToTheNextWaiter_AndTheEventStaysReset()
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        var ev = new RtEvent(autoReset: true);
        RtTask w1 = rt.Spawn("w1", 10, async ctx => await ev.WaitAsync(ctx));
        await Rt.Until(() => ev.WaiterCount == 1, "w1 waits");
        RtTask w2 = rt.Spawn("w2", 5, async ctx => await ev.WaitAsync(ctx));
        await Rt.Until(() => ev.WaiterCount == 2, "w2 waits");
        RtTask s = rt.Spawn("s", 20, _ =>
        {
            ev.Set(); // to w1, the higher
            ev.Reset();
            EndQueuedOnAnotherThread(rt, w1);
            return ValueTask.CompletedTask;
        });
        await s.WithTimeout();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => w1.WithTimeout());
        await w2.WithTimeout(); // it got w1's signal
        Assert.False(ev.IsSet);
        Assert.Equal(0, ev.WaiterCount);
    }

    [Fact]
    public async Task AGrantGivenBackAfterAReset_DoesNotGoToAWaiterThatCameAfterTheReset()
    {
        await using RtScheduler rt = Rt.Start(cpus: 2);
        var ev = new RtEvent(autoReset: true);
        RtTask w1 = rt.Spawn("w1", 10, async ctx => await ev.WaitAsync(ctx), affinity: CpuSet.Of(0));
        await Rt.Until(() => ev.WaiterCount == 1, "w1 waits");
        RtTask? w3 = null;
        RtTask s = rt.Spawn("s", 20, sctx =>
        {
            ev.Set(); // to w1, queued behind s on cpu0: it does not resume yet
            ev.Reset(); // the user resets the event: the signal is gone
            w3 = rt.Spawn("w3", 10, async ctx => await ev.WaitAsync(ctx), affinity: CpuSet.Of(1)); // waits after the Reset
            sctx.SpinWithoutPointsUntil(() => ev.WaiterCount == 1, "w3 waits"); // no point: w1 stays queued behind s
            EndQueuedOnAnotherThread(rt, w1); // w1 ends without resuming: its grant is given back
            return ValueTask.CompletedTask;
        }, affinity: CpuSet.Of(0));
        await s.WithTimeout();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => w1.WithTimeout());

        // w3 began waiting on a reset event: the signal from before the Reset is not its.
        Assert.False(w3!.IsCompleted);
        Assert.Equal(1, ev.WaiterCount);
        Assert.False(ev.IsSet);

        ev.Set();
        await w3.WithTimeout();
    }

    /// <summary>What a stop's thread does to a task queued behind one that never stops (AbandonStragglers).</summary>
    private static void EndQueuedOnAnotherThread(RtScheduler rt, RtTask task) =>
        Task.Run(() =>
        {
            Assert.True(RtScheduler.TryDequeueForStop(task));
            rt.EndAtStop(task);
        }).Wait();
}
