using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// SetPriority, SetScheduler and SetAffinityAsync on a task that has ended (completed, faulted,
/// cancelled, ended by a stop): nothing changes and the call says so (false, the kernel's ESRCH for a
/// pid that is gone), while a live task's request says true; bad input is still refused first.
/// </summary>
public class EndedTaskRequestTests
{
    [Fact]
    public async Task Requests_ToEndedTasks_ReturnFalseAndChangeNothing_ToLiveOnes_True()
    {
        await using RtScheduler rt = Rt.Start(cpus: 2);
        var gate = new RtEvent();
        using var cts = new CancellationTokenSource();
        RtTask live = rt.Spawn("live", 10, async ctx => await gate.WaitAsync(ctx));
        RtTask completed = rt.Spawn("completed", 10, _ => ValueTask.CompletedTask);
        RtTask faulted = rt.Spawn("faulted", 10, _ => throw new InvalidOperationException("boom"));
        RtTask cancelled = rt.Spawn("cancelled", 10, async ctx => await gate.WaitAsync(ctx), cancellationToken: cts.Token);
        RtTask normal = rt.Spawn("normal", 0, _ => ValueTask.CompletedTask, SchedPolicy.Normal);
        await completed.WithTimeout();
        await Assert.ThrowsAsync<InvalidOperationException>(() => faulted.WithTimeout());
        await normal.WithTimeout();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WithTimeout());

        foreach (RtTask ended in new[] { completed, faulted, cancelled })
        {
            CpuSet before = ended.Affinity;
            Assert.False(rt.SetPriority(ended, 70));
            Assert.False(rt.SetScheduler(ended, SchedPolicy.RoundRobin, 80));
            Assert.False(await rt.SetAffinityAsync(ended, CpuSet.Of(1)).WithTimeout());
            Assert.Equal((SchedPolicy.Fifo, 10, before), (ended.Policy, ended.BasePriority, ended.Affinity));

            // Bad input is a bug whether or not the task is there: still refused.
            Assert.Equal(100, Assert.Throws<ArgumentOutOfRangeException>(() => rt.SetPriority(ended, 100)).ActualValue);
            Assert.Throws<ArgumentOutOfRangeException>(() => rt.SetScheduler(ended, SchedPolicy.Normal, 5));
            Assert.Throws<ArgumentOutOfRangeException>(() => { _ = rt.SetAffinityAsync(ended, CpuSet.Of(7)); });
        }

        Assert.False(rt.SetPriority(normal, 0)); // a Normal task's 0 changes nothing, and this one is gone
        Assert.False(rt.SetPriority(normal, 50)); // ended: ESRCH, not the live Normal task's refusal

        Assert.True(rt.SetPriority(live, 20));
        Assert.True(rt.SetScheduler(live, SchedPolicy.RoundRobin, 30));
        Assert.True(await rt.SetAffinityAsync(live, CpuSet.Of(1)).WithTimeout()); // blocked: its wakeup reads the mask
        Assert.Equal((SchedPolicy.RoundRobin, 30, CpuSet.Of(1)), (live.Policy, live.BasePriority, live.Affinity));
        gate.Set();
        await live.WithTimeout();
        Assert.False(rt.SetPriority(live, 40));
        Assert.Equal(30, live.BasePriority);
        Assert.Equal(0, rt.BugCount);
    }

    [Fact]
    public async Task Requests_ToATaskEndedByAStop_ReturnFalse()
    {
        RtScheduler rt = Rt.Start(cpus: 1);
        var never = new RtEvent();
        RtTask waiter = rt.Spawn("waiter", 10, async ctx => await never.WaitAsync(ctx));
        await rt.StopAsync(TimeSpan.Zero, TimeSpan.FromSeconds(30)).WithTimeout(); // the stop cancels it
        Assert.True(waiter.IsCompleted);

        Assert.False(rt.SetPriority(waiter, 70));
        Assert.False(rt.SetScheduler(waiter, SchedPolicy.Normal, 0));
        Assert.False(await rt.SetAffinityAsync(waiter, CpuSet.Of(0)).WithTimeout());
        Assert.Equal((SchedPolicy.Fifo, 10), (waiter.Policy, waiter.BasePriority));
    }
}
