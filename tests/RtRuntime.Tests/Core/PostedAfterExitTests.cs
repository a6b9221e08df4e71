using System.Collections.Concurrent;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// Work posted to a task after it ended (PostedAfterExit): it runs in the order posted and one item
/// at a time, whichever drain task runs it, and a throwing post or a post racing the task's end does
/// not reorder it.
/// </summary>
public class PostedAfterExitTests
{
    [Fact]
    public async Task ContinuationsOfOneEndedTask_HoppingThroughDrainTasks_NeverRunAtOnce()
    {
        // A hops once through a drain task and awaits again (its context is now that drain task);
        // B is still posted to the ended owner. Released together, they must not overlap.
        await using var rt = Rt.Start(cpus: 2);
        var gateA = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gateA2 = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gateB = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var aHopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int inside = 0, overlap = 0;
        var contexts = new ConcurrentQueue<string?>();
        Task? a = null, b = null;
        RtTask t = rt.Spawn("owner", 10, ctx =>
        {
            a = AAsync();
            b = BAsync();
            return ValueTask.CompletedTask;
        });
        await t.WithTimeout();
        gateA.SetResult();
        await aHopped.Task.WithTimeout();
        await Rt.Until(() => rt.LiveTasks == 0, "the first drain task ended");
        gateA2.SetResult();
        gateB.SetResult();
        await Task.WhenAll(a!, b!).WaitAsync(Rt.Hang);
        Assert.Equal(0, overlap);
        Assert.All(contexts, name => Assert.Equal("owner/posted", name));

        async Task AAsync()
        {
            await gateA.Task;
            aHopped.SetResult();
            await gateA2.Task;
            Critical();
        }

        async Task BAsync()
        {
            await gateB.Task;
            Critical();
        }

        void Critical()
        {
            contexts.Enqueue((SynchronizationContext.Current as RtTask)?.Name);
            if (Interlocked.Increment(ref inside) == 2)
            {
                Interlocked.Exchange(ref overlap, 1);
            }

            long until = RtRuntime.Cpus.RtClock.NowNs() + 100_000_000; // room for a parallel run to show
            while (Volatile.Read(ref inside) < 2 && RtRuntime.Cpus.RtClock.NowNs() < until)
            {
                Thread.SpinWait(20);
            }

            Interlocked.Decrement(ref inside);
        }
    }

    [Fact]
    public async Task PostThatThrows_ThePostsAfterItKeepTheirPlaceBeforeLaterOnes()
    {
        await using var rt = Rt.Start(cpus: 1);
        var order = new ConcurrentQueue<string>();
        var never = new RtEvent();
        RtTask t = rt.Spawn("thrower", 10, async ctx =>
        {
            SynchronizationContext context = SynchronizationContext.Current!;
            context.Post(_ =>
            {
                order.Enqueue("cb1");
                context.Post(_ => order.Enqueue("x"), null); // posted after cb2
                throw new InvalidOperationException("cb1 throws");
            }, null);
            context.Post(_ => order.Enqueue("cb2"), null);
            await never.WaitAsync(ctx);
        });
        await Assert.ThrowsAsync<InvalidOperationException>(() => t.WithTimeout());
        await Rt.Until(() => order.Count == 3, "all three ran");
        Assert.Equal(["cb1", "cb2", "x"], order.ToArray());
    }

    [Fact]
    public async Task PostRacingTheTasksEnd_DoesNotOvertakeAPostFromItsLastStep()
    {
        await using var rt = Rt.Start(cpus: 1);
        var order = new ConcurrentQueue<string>();
        var go = new RtEvent();
        RtTask t = rt.Spawn("last", 10, async ctx =>
        {
            await go.WaitAsync(ctx);
            SynchronizationContext.Current!.Post(_ => order.Enqueue("x (last step)"), null);
        });
        await Rt.Until(() => t.State == RtTaskState.Blocked, "the task waits");
        SynchronizationContext? saved = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(new InlineContext());
        try
        {
            // A completion waiter resumed inline on the CPU thread as the task completes: between
            // its Dead state and its end forwarding the post of its last step.
            t.GetAwaiter().UnsafeOnCompleted(() => t.Post(_ => order.Enqueue("y (after end)"), null));
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(saved);
        }

        go.Set();
        await t.WithTimeout();
        await Rt.Until(() => order.Count == 2, "both ran");
        Assert.Equal(["x (last step)", "y (after end)"], order.ToArray());
    }

    [Fact]
    public async Task DrainOfManyPosts_LetsAHigherPriorityTaskRunBetweenThem()
    {
        // One CPU: the drain task (priority 10) passes a preemption point after each post, so the
        // priority-50 task the first post spawns runs before the second post.
        await using var rt = Rt.Start(cpus: 1);
        var order = new ConcurrentQueue<string>();
        RtTask t = rt.Spawn("ended", 10, ctx => ValueTask.CompletedTask);
        await t.WithTimeout();
        t.Post(_ =>
        {
            order.Enqueue("post 1");
            _ = rt.Spawn("high", 50, ctx =>
            {
                order.Enqueue("high");
                return ValueTask.CompletedTask;
            });
        }, null);
        t.Post(_ => order.Enqueue("post 2"), null);
        await Rt.Until(() => order.Count == 3, "both posts and the high task ran");
        Assert.Equal(["post 1", "high", "post 2"], order.ToArray());
    }

    [Fact]
    public async Task DrainTaskEndedByTheStopBeforeItRan_ItsWorkIsDroppedAndLogged()
    {
        // One CPU held by a task that never reaches a preemption point: the drain task for the ended
        // owner's post stays queued, and the stop ends it unstarted. The queue it held is handed on,
        // so its work (and what is posted after) is dropped and logged, not kept silently.
        using var logs = new Hotplug.CapturingLoggerFactory();
        var rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.LoggerFactory = logs;
        });
        RtTask owner = rt.Spawn("owner", 10, ctx => ValueTask.CompletedTask);
        await owner.WithTimeout();
        var release = new ManualResetEventSlim();
        RtTask spinner = rt.Spawn("spinner", 50, _ =>
        {
            release.Wait(Rt.Hang);
            return ValueTask.CompletedTask;
        });
        await Rt.Until(() => spinner.State == RtTaskState.Running, "the spinner holds the CPU");
        bool ran = false;
        owner.Post(_ => ran = true, null); // its drain task queues behind the spinner

        try
        {
            await rt.StopAsync(TimeSpan.Zero, TimeSpan.FromMilliseconds(50)).WithTimeout();
        }
        finally
        {
            release.Set();
        }

        await spinner.WithTimeout();
        owner.Post(_ => ran = true, null);
        Assert.False(ran);
        Assert.Equal(2, logs.Messages.Count(m => m.Message == "1 continuation(s) posted to task owner, which has ended, dropped: the runtime is stopping"));
        await rt.DisposeAsync();
    }

    private sealed class InlineContext : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state) => d(state);
    }
}
