using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

public class WaitQueueTests
{
    [Fact]
    public async Task EventSet_ManyWaitersOfDifferentPriority_WokenInPriorityOrder()
    {
        await using var rt = Rt.Start(cpus: 1);
        var ev = new RtEvent();
        var order = new List<int>();
        var tasks = new List<RtTask>();
        foreach (int prio in new[] { 10, 50, 30, 50, 20 })
        {
            tasks.Add(rt.Spawn("w" + prio, prio, async ctx =>
            {
                await ev.WaitAsync(ctx);
                lock (order)
                {
                    order.Add(ctx.Task.BasePriority);
                }
            }));
        }

        await Rt.Until(() => ev.WaiterCount == 5, "all five wait");
        var setter = rt.Spawn("setter", 99, _ =>
        {
            ev.Set();
            return ValueTask.CompletedTask;
        });
        await setter.WithTimeout();
        foreach (var t in tasks)
        {
            await t.WithTimeout();
        }

        Assert.Equal(new[] { 50, 50, 30, 20, 10 }, order);
    }

    [Fact]
    public async Task SemaphoreRelease_FromOutsideRuntime_HandsPermitToHighestWaiter()
    {
        await using var rt = Rt.Start(cpus: 1);
        var sem = new RtSemaphore(0);
        var order = new List<string>();
        var low = rt.Spawn("low", 5, async ctx => { await sem.WaitAsync(ctx); lock (order) { order.Add("low"); } });
        await Rt.Until(() => sem.WaiterCount == 1, "low waits");
        var high = rt.Spawn("high", 60, async ctx => { await sem.WaitAsync(ctx); lock (order) { order.Add("high"); } });
        await Rt.Until(() => sem.WaiterCount == 2, "high waits");
        sem.Release();
        await high.WithTimeout();
        Assert.Equal(1, sem.WaiterCount);
        sem.Release();
        await low.WithTimeout();
        Assert.Equal(new[] { "high", "low" }, order);
        Assert.Equal(0, sem.CurrentCount);
    }

    [Fact]
    public async Task Wait_TaskCancelled_ThrowsAndTaskEndsCancelled()
    {
        await using var rt = Rt.Start();
        var ev = new RtEvent();
        var t = rt.Spawn("waiter", 10, async ctx => await ev.WaitAsync(ctx));
        await Rt.Until(() => ev.WaiterCount == 1, "waiter blocks");
        t.Cancel();
        await AssertEndsCancelledAndUnlisted(t, ev);
    }

    [Fact]
    public async Task Wait_CancelledBeforeItBlocks_ThrowsAtOnceAndLeavesNoWaiter()
    {
        await using var rt = Rt.Start(cpus: 1);
        var ev = new RtEvent();
        var t = rt.Spawn("waiter", 10, async ctx =>
        {
            ctx.Task.Cancel(); // the flag is set before the wait registers: Block sees it under the gate
            await ev.WaitAsync(ctx);
        });
        await AssertEndsCancelledAndUnlisted(t, ev);
    }

    [Fact]
    public async Task Wait_CancelRacingWithBlock_EveryWaiterEndsCancelledAndNoneStaysListed()
    {
        // The cancel flag and the wait's registration race (the waiter publishes its wait, fences with
        // the gate and reads the flag; the canceller sets the flag and reads the wait): every round must
        // end cancelled, none may hang, and no cancelled task may stay on the wait queue.
        await using var rt = Rt.Start(cpus: 2);
        var ev = new RtEvent();
        const int Rounds = 2_000;
        var random = new Random(7);
        for (int round = 0; round < Rounds; round++)
        {
            int spin = random.Next(0, 2_000);
            var t = rt.Spawn("waiter", 10, async ctx => await ev.WaitAsync(ctx), affinity: CpuSet.Of(round & 1));
            Thread.SpinWait(spin);
            t.Cancel();
            await AssertEndsCancelledAndUnlisted(t, ev);
        }
    }

    private static async Task AssertEndsCancelledAndUnlisted(RtTask waiter, RtWaitQueue queue)
    {
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiter.WithTimeout());
        Assert.Equal(RtTaskState.Cancelled, waiter.State);
        Assert.Equal(0, queue.WaiterCount);
    }

    [Fact]
    public void Semaphore_BadCounts_ThrowNamingArgument()
    {
        var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => new RtSemaphore(-1));
        Assert.Equal("initialCount", e1.ParamName);
        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => new RtSemaphore(0, 0));
        Assert.Equal("maxCount", e2.ParamName);
        var sem = new RtSemaphore(1, 1);
        Assert.Throws<SemaphoreFullException>(() => sem.Release());
        Assert.Equal(1, sem.CurrentCount);
    }

    [Fact]
    public async Task TaskScheduler_TaskRunWithAwaits_RunsOnRuntimeCpuThreads()
    {
        await using var rt = Rt.Start();
        var scheduler = new RtTaskScheduler(rt, 40);
        var threads = new List<string?>();
        Task work = Task.Factory.StartNew(async () =>
        {
            threads.Add(Thread.CurrentThread.Name);
            await Task.Delay(2);
            threads.Add(Thread.CurrentThread.Name);
            await Task.Yield();
            threads.Add(Thread.CurrentThread.Name);
        }, CancellationToken.None, TaskCreationOptions.None, scheduler).Unwrap();
        await work.WithTimeout();
        Assert.Equal(3, threads.Count);
        Assert.All(threads, name => Assert.StartsWith("rt/cpu", name, StringComparison.Ordinal));
    }

    [Fact]
    public async Task SetAffinity_QueuedOrRunningTask_EndsRunningInsideNewMask()
    {
        await using var rt = Rt.Start();
        var moved = new RtEvent();
        int cpuAfter = -1;
        var t = rt.Spawn("mover", 10, async ctx =>
        {
            while (!moved.IsSet)
            {
                await ctx.PreemptionPoint();
            }

            cpuAfter = ctx.RawCpuId;
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => t.State == RtTaskState.Running, "mover runs");
        await rt.SetAffinityAsync(t, CpuSet.Of(1)).WithTimeout();
        Assert.Equal(1, t.CurrentCpu);
        Assert.Equal(CpuSet.Of(1), t.Affinity);
        moved.Set();
        await t.WithTimeout();
        Assert.Equal(1, cpuAfter);
        Assert.True(t.Migrations >= 1);
    }
}
