using System.Runtime.CompilerServices;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>Cancellation by token and by RtTask.Cancel, observed at preemption points and blocking waits.</summary>
public class CancellationTests
{
    [Fact]
    public async Task PreemptionPoint_TokenCancelled_TaskEndsCancelled()
    {
        await using var rt = Rt.Start(cpus: 2);
        using var cts = new CancellationTokenSource();
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        long points = 0;
        var t = rt.Spawn("looper", 10, async ctx =>
        {
            running.SetResult();
            while (true)
            {
                points++;
                await ctx.PreemptionPoint();
            }
        }, cancellationToken: cts.Token);
        await running.Task.WithTimeout();

        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => t.WithTimeout());
        Assert.Equal(RtTaskState.Cancelled, t.State);
        Assert.IsAssignableFrom<OperationCanceledException>(t.Exception);
        Assert.True(points > 0);
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task AsTask_OfATaskCancelledByItsToken_CarriesThatToken()
    {
        await using var rt = Rt.Start(cpus: 2);
        using var cts = new CancellationTokenSource();
        var plain = rt.Spawn("plain", 10, async ctx => await ctx.Sleep(TimeSpan.FromHours(1)), cancellationToken: cts.Token);
        var typed = rt.Spawn<int>("typed", 10, async ctx =>
        {
            await ctx.Sleep(TimeSpan.FromHours(1));
            return 1;
        }, cancellationToken: cts.Token);
        Task plainTask = plain.AsTask();
        Task<int> typedTask = typed.AsTask();

        cts.Cancel();
        var fromPlain = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => plainTask.WithTimeout());
        var fromTyped = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => typedTask.WithTimeout());
        Assert.Equal(cts.Token, Assert.IsAssignableFrom<OperationCanceledException>(plain.Exception).CancellationToken);
        Assert.Equal(cts.Token, fromPlain.CancellationToken);
        Assert.Equal(cts.Token, fromTyped.CancellationToken);
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task Cancel_TaskSleepingForAnHour_WakesAndEndsCancelled()
    {
        await using var rt = Rt.Start(cpus: 2);
        var t = rt.Spawn("sleeper", 10, async ctx => await ctx.Sleep(TimeSpan.FromHours(1)));
        await Rt.Until(() => t.State == RtTaskState.Blocked, "the task sleeps");

        t.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => t.WithTimeout());
        Assert.Equal(RtTaskState.Cancelled, t.State);
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task Sleep_TokenCancelled_WakesAndEndsCancelled()
    {
        await using var rt = Rt.Start(cpus: 1);
        using var cts = new CancellationTokenSource();
        var t = rt.Spawn("sleeper", 10, async ctx => await ctx.SleepUntil(long.MaxValue), cancellationToken: cts.Token);
        await Rt.Until(() => t.State == RtTaskState.Blocked, "the task sleeps");

        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => t.WithTimeout());
        Assert.Equal(RtTaskState.Cancelled, t.State);
    }

    [Fact]
    public async Task Cancel_TaskLoopingOnYield_EndsCancelled()
    {
        await using var rt = Rt.Start(cpus: 1);
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var t = rt.Spawn("yielder", 10, async ctx =>
        {
            running.SetResult();
            while (true)
            {
                await ctx.Yield();
            }
        });
        await running.Task.WithTimeout();

        t.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => t.WithTimeout());
        Assert.Equal(RtTaskState.Cancelled, t.State);
    }

    [Fact]
    public async Task Cancel_CaughtInsideBody_TaskCanCleanUpAndComplete()
    {
        await using var rt = Rt.Start(cpus: 1);
        var t = rt.Spawn<string>("graceful", 10, async ctx =>
        {
            try
            {
                await ctx.Sleep(TimeSpan.FromHours(1));
                return "slept";
            }
            catch (OperationCanceledException)
            {
                return ctx.IsCancellationRequested ? "cleaned up" : "not flagged";
            }
        });
        await Rt.Until(() => t.State == RtTaskState.Blocked, "the task sleeps");

        t.Cancel();
        Assert.Equal("cleaned up", await t.WithTimeout());
        Assert.Equal(RtTaskState.Completed, t.State);
    }

    /// <summary>
    /// A synchronous loop with no call in its body that tests only the flag: an optimized loop keeps a
    /// plain field read out of the loop, so the flag must stay volatile; else this loop never ends and
    /// the hang guard fails the test.
    /// </summary>
    [Fact]
    public async Task IsCancellationRequested_InALoopWithoutCalls_IsSeenWhenCancelled()
    {
        await using var rt = Rt.Start(cpus: 1);
        var spinning = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var t = rt.Spawn<long>("spinner", 10, ctx =>
        {
            spinning.SetResult();
            return ValueTask.FromResult(SpinUntilCancellationRequested(ctx));
        });
        await spinning.Task.WithTimeout();
        await Task.Delay(50); // let the loop start before the cancel
        t.Cancel();

        Assert.True(await t.WithTimeout() >= 0); // it returns: the body ends well, having seen the flag
        Assert.Equal(RtTaskState.Completed, t.State);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static long SpinUntilCancellationRequested(TaskContext ctx)
    {
        long spins = 0;
        while (!ctx.IsCancellationRequested)
        {
            spins++;
        }

        return spins;
    }

    [Fact]
    public async Task Spawn_TokenAlreadyCancelled_TaskEndsCancelledAtFirstPreemptionPoint()
    {
        await using var rt = Rt.Start(cpus: 1);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        bool passedPoint = false;
        var t = rt.Spawn("doomed", 10, async ctx =>
        {
            await ctx.PreemptionPoint();
            passedPoint = true;
        }, cancellationToken: cts.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => t.WithTimeout());
        Assert.Equal(RtTaskState.Cancelled, t.State);
        Assert.False(passedPoint);
    }

    /// <summary>
    /// A point throws the cancellation it finds pending. One that arrives while the task waits at a
    /// point for its CPU (here: switched out for a higher task, which cancels it) is thrown at the task's
    /// next point, as the kernel's <c>cond_resched()</c> returns without looking at signals: the code
    /// between the two points runs once, seeing the request.
    /// </summary>
    [Fact]
    public async Task PreemptionPoint_CancelledWhileSwitchedOutAtIt_ThrowsAtTheNextPoint()
    {
        await using var rt = Rt.Start(cpus: 1);
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int ranSeeingTheRequest = 0;
        RtTask? low = null;
        low = rt.Spawn("low", 10, async ctx =>
        {
            running.SetResult();
            while (true)
            {
                await ctx.PreemptionPoint();
                if (ctx.IsCancellationRequested)
                {
                    Interlocked.Increment(ref ranSeeingTheRequest);
                }
            }
        });
        await running.Task.WithTimeout();

        // One CPU: the higher task runs only once the low one has switched out at a point.
        var high = rt.Spawn("high", 50, _ =>
        {
            low.Cancel();
            return ValueTask.CompletedTask;
        });
        await high.WithTimeout();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => low.WithTimeout());
        Assert.Equal(RtTaskState.Cancelled, low.State);
        Assert.Equal(1, Volatile.Read(ref ranSeeingTheRequest));
    }

    /// <summary>
    /// A cancelled task that catches the cancellation at every point and loops on still switches at
    /// its points: a point with a switch due switches first (its cancellation waits for the next point),
    /// so the higher task runs and can end the loop. A point that threw whenever a cancellation was
    /// pending would hold the CPU for ever, and the higher task would hang into the test's timeout.
    /// </summary>
    [Fact]
    public async Task PreemptionPoint_CancelledTaskThatCatchesAndLoops_StillYieldsToAHigherTask()
    {
        await using var rt = Rt.Start(cpus: 1);
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int stop = 0;
        int caught = 0;
        var stubborn = rt.Spawn("stubborn", 10, async ctx =>
        {
            running.SetResult();
            while (Volatile.Read(ref stop) == 0)
            {
                try
                {
                    await ctx.PreemptionPoint();
                }
                catch (OperationCanceledException)
                {
                    Interlocked.Increment(ref caught);
                }
            }
        });
        await running.Task.WithTimeout();
        stubborn.Cancel();
        await Rt.Until(() => Volatile.Read(ref caught) > 0, "the cancelled task catches its cancellation at a point");

        var high = rt.Spawn("high", 50, _ =>
        {
            Volatile.Write(ref stop, 1);
            return ValueTask.CompletedTask;
        });
        await high.WithTimeout();

        await stubborn.WithTimeout();
        Assert.Equal(RtTaskState.Completed, stubborn.State);
    }

    [Fact]
    public async Task Cancel_AfterCompletion_IsNoOp()
    {
        await using var rt = Rt.Start(cpus: 1);
        var t = rt.Spawn<int>("done", 10, _ => ValueTask.FromResult(7));
        Assert.Equal(7, await t.WithTimeout());

        t.Cancel();
        Assert.Equal(RtTaskState.Completed, t.State);
        Assert.Equal(7, t.Result);
        Assert.Null(t.Exception);
    }
}
