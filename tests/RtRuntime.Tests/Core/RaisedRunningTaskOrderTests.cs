using System.Collections.Concurrent;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// A running task raised to a priority at which tasks already wait goes behind them, as
/// <c>__sched_setscheduler</c> and <c>rt_mutex_setprio</c> enqueue a raised task (the running one
/// included: an RT task stays on its list while it runs) at the tail of its new priority; a pending
/// reschedule then picks the head of that list, not the raised task.
/// </summary>
public class RaisedRunningTaskOrderTests
{
    [Fact]
    public async Task ARunningTaskRaisedToTheLevelOfAQueuedTask_GoesBehindIt()
    {
        // One CPU. t (50) runs preempt-disabled while u (60) wakes: u waits for the section's end. t
        // raises itself to 60 first: in the kernel it goes to the tail of 60, behind u, and the
        // reschedule u's wakeup left pending at the section's end runs u, then t.
        await using RtScheduler rt = Rt.Start(cpus: 1);
        var order = new ConcurrentQueue<string>();
        RtTask? u = null;
        RtTask t = rt.Spawn("t", 50, async ctx =>
        {
            using (ctx.PreemptDisable())
            {
                u = Recorder(rt, "u", 60, order);
                ctx.SpinWithoutPointsUntil(() => Rt.QueuedOn(rt.Cpus[0], u), "u queued behind t");
                ctx.SetPriority(60);
            }

            await ctx.PreemptionPoint();
            order.Enqueue("t");
        });

        await t.WithTimeout();
        await u!.WithTimeout();
        Assert.Equal(["u", "t"], order.ToArray());
    }

    [Fact]
    public async Task ARunningTaskRaisedFromAnotherThreadToTheLevelOfAQueuedTask_GoesBehindIt()
    {
        // As above, the raise coming from another thread while t is preempt-disabled (applied at t's
        // next point, before its switch decision).
        await using RtScheduler rt = Rt.Start(cpus: 1);
        var order = new ConcurrentQueue<string>();
        RtTask? u = null;
        int raised = 0;
        RtTask? t = null;
        t = rt.Spawn("t", 50, async ctx =>
        {
            using (ctx.PreemptDisable())
            {
                u = Recorder(rt, "u", 60, order);
                ctx.SpinWithoutPointsUntil(() => Volatile.Read(ref raised) == 1, "t raised to 60 from the test thread");
            }

            await ctx.PreemptionPoint();
            order.Enqueue("t");
        });

        await Rt.Until(() => u is not null && Rt.QueuedOn(rt.Cpus[0], u), "u queued behind t");
        rt.SetPriority(t!, 60);
        Volatile.Write(ref raised, 1);

        await t!.WithTimeout();
        await u!.WithTimeout();
        Assert.Equal(["u", "t"], order.ToArray());
    }

    [Fact]
    public async Task ATaskQueuedAtThatPriorityAfterTheRaise_GoesBehindTheRaisedTask()
    {
        // t (50) preempt-disabled: u (60) wakes, t raises itself to 60 (behind u), then w (60) wakes
        // (behind t). The kernel's list of 60 is u, t, w: they run in that order.
        await using RtScheduler rt = Rt.Start(cpus: 1);
        var order = new ConcurrentQueue<string>();
        RtTask? u = null, w = null;
        RtTask t = rt.Spawn("t", 50, async ctx =>
        {
            using (ctx.PreemptDisable())
            {
                u = Recorder(rt, "u", 60, order);
                ctx.SpinWithoutPointsUntil(() => Rt.QueuedOn(rt.Cpus[0], u), "u queued behind t");
                ctx.SetPriority(60);
                w = Recorder(rt, "w", 60, order);
                ctx.SpinWithoutPointsUntil(() => Rt.QueuedOn(rt.Cpus[0], w), "w queued behind u");
            }

            await ctx.PreemptionPoint();
            order.Enqueue("t");
        });

        await t.WithTimeout();
        await u!.WithTimeout();
        await w!.WithTimeout();
        Assert.Equal(["u", "t", "w"], order.ToArray());
    }

    /// <summary>Spawns a task at <paramref name="priority"/> that only records its name when it runs.</summary>
    private static RtTask Recorder(RtScheduler rt, string name, int priority, ConcurrentQueue<string> order) =>
        rt.Spawn(name, priority, _ =>
        {
            order.Enqueue(name);
            return ValueTask.CompletedTask;
        });
}
