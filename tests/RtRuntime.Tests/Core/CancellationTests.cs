using RtRuntime.Cpus;
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
    /// A token already cancelled at the spawn ends the task cancelled before its body runs, and the
    /// cancellation names that token, as one cancelled later does (so that
    /// <c>catch (OperationCanceledException e) when (e.CancellationToken == token)</c> recognises it):
    /// through the handle's exception, its <c>AsTask</c>, and the ValueTask of <c>RunAsync</c>. It
    /// named none: a token already cancelled runs its registration's callback at once and hands back
    /// a default registration, where the runtime read the token from.
    /// </summary>
    [Fact]
    public async Task Spawn_TokenAlreadyCancelled_TheCancellationNamesThatToken()
    {
        var rt = Rt.Start(cpus: 1);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        int ran = 0;
        RtTask plain = rt.Spawn("plain", 10, _ =>
        {
            Interlocked.Increment(ref ran);
            return ValueTask.CompletedTask;
        }, cancellationToken: cts.Token);
        RtTask<int> typed = rt.Spawn<int>("typed", 10, _ =>
        {
            Interlocked.Increment(ref ran);
            return ValueTask.FromResult(1);
        }, cancellationToken: cts.Token);
        ValueTask pooled = rt.RunAsync("pooled", 10, _ =>
        {
            Interlocked.Increment(ref ran);
            return ValueTask.CompletedTask;
        }, cancellationToken: cts.Token);

        var fromPlain = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => plain.WithTimeout());
        var fromTyped = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => typed.WithTimeout());
        var fromPooled = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pooled.AsTask().WithTimeout());
        Assert.Equal(cts.Token, fromPlain.CancellationToken);
        Assert.Equal(cts.Token, fromTyped.CancellationToken);
        Assert.Equal(cts.Token, fromPooled.CancellationToken);
        Assert.Equal(cts.Token, Assert.IsAssignableFrom<OperationCanceledException>(plain.Exception).CancellationToken);
        Assert.Equal(cts.Token, Assert.Throws<OperationCanceledException>(() => typed.Result).CancellationToken);
        Assert.Equal((RtTaskState.Cancelled, RtTaskState.Cancelled), (plain.State, typed.State));
        Assert.Equal(0, Volatile.Read(ref ran));

        Assert.Equal(0, rt.LiveTasks);
        Assert.Equal(new ShutdownSummary(3, 0, 0, 3, 0), await rt.StopAsync(Rt.Hang).WithTimeout());
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
        // No stall probe: a probe bit pending at the point after the resume (the CPU thread held off its
        // core there for half the stall threshold) would be work there, and the request thrown a point later.
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.StallThreshold = Rt.NoStallProbe;
        });
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

    /// <summary>
    /// A cancelled task that wakes a higher task on its own CPU before each of its points (a producer
    /// signalling its consumer, then passing a point) finds a switch due at every point. A point that
    /// defers a cancellation whenever it has other work to do would never throw it: the task would run
    /// on for ever, cancelled. It must end cancelled (a hang fails the test at its timeout).
    /// </summary>
    [Fact]
    public async Task PreemptionPoint_CancelledTaskThatWakesAHigherTaskBeforeEveryPoint_EndsCancelled()
    {
        await using var rt = Rt.Start(cpus: 1);
        var signal = new RtEvent(autoReset: true);
        int consumed = 0;
        var consumer = rt.Spawn("consumer", 50, async ctx =>
        {
            while (true)
            {
                await signal.WaitAsync(ctx);
                Interlocked.Increment(ref consumed);
            }
        });
        await Rt.Until(() => consumer.State == RtTaskState.Blocked, "the consumer waits");

        var producer = rt.Spawn("producer", 10, async ctx =>
        {
            while (true)
            {
                signal.Set(); // one CPU: the consumer is waiting again whenever the producer runs
                await ctx.PreemptionPoint();
            }
        });
        await Rt.Until(() => Volatile.Read(ref consumed) > 10, "the producer and the consumer alternate");

        producer.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => producer.WithTimeout());
        Assert.Equal(RtTaskState.Cancelled, producer.State);

        consumer.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => consumer.WithTimeout());
    }

    /// <summary>
    /// Two round-robin tasks of one priority on one CPU, each passing a point only once its slice is
    /// over: every point of theirs rotates. A cancellation deferred whenever a point has other work
    /// would never be thrown; the cancelled task must end cancelled (a hang fails at the timeout).
    /// The tasks wait for the slice's end by the CPU's own state (no point, no clock assertion).
    /// </summary>
    [Fact]
    public async Task PreemptionPoint_CancelledRoundRobinTaskThatRotatesAtEveryPoint_EndsCancelled()
    {
        await using RtScheduler rt = StartOneCpuWithShortSlices();
        (RtTask a, RtTask b) = await SpawnRotatingPairAsync(rt);

        a.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => a.WithTimeout());
        Assert.Equal(RtTaskState.Cancelled, a.State);

        b.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => b.WithTimeout());
    }

    /// <summary>
    /// The rotating round-robin pair of the test above, cancelled by a stop instead: while the stop
    /// cancels every task it requests the cancellation again at each switch-in (Cpu.SwitchIn), so
    /// each task gets a request between a point that defers its cancellation for the rotation and
    /// the point after. A repeated request must not undo the deferral (RtTask.CancelDeferred, a value
    /// of the cancel flag that RequestCancel leaves alone): if it lowered the flag back to "requested",
    /// every point would defer again and the stop, whose grace has no end here, would never finish
    /// (a hang fails at the timeout). Both tasks must end cancelled.
    /// </summary>
    [Fact]
    public async Task PreemptionPoint_RoundRobinTasksRotatingAtEveryPoint_StopRequestingAgainAtEachSwitchIn_EndCancelled()
    {
        RtScheduler rt = StartOneCpuWithShortSlices(); // not disposed: a dispose would wait for a stop that hangs, and the test with it
        (RtTask a, RtTask b) = await SpawnRotatingPairAsync(rt);

        ShutdownSummary summary = await rt.StopAsync(TimeSpan.Zero, Timeout.InfiniteTimeSpan).WithTimeout(); // no drain: cancels at once, no reaping
        Assert.Equal(RtTaskState.Cancelled, a.State);
        Assert.Equal(RtTaskState.Cancelled, b.State);
        Assert.Equal(new ShutdownSummary(2, 0, 0, 2, 0), summary);
    }

    /// <summary>
    /// A round-robin task past its slice inside a preempt-disabled section: the due slice timer sends
    /// every point to the slow path (which cannot rotate it there). A cancellation that waited for a
    /// point with nothing else to do would never be thrown in the section; it must be (the task
    /// cancels itself once the slice is over and polled, then passes points).
    /// </summary>
    [Fact]
    public async Task PreemptionPoint_CancelledPreemptDisabledTaskPastItsRoundRobinSlice_Throws()
    {
        await using RtScheduler rt = StartOneCpuWithShortSlices();
        Cpu cpu = rt.Cpus[0];
        int pointsAfterCancel = 0;
        var t = rt.Spawn("rr", 10, async ctx =>
        {
            using (ctx.PreemptDisable())
            {
                await ctx.SpinUntil(
                    () => (Volatile.Read(ref ctx.Task.Gate) & PendingWork.TimerSoon) != 0 && RtClock.NowNs() >= cpu.SliceDeadline,
                    "the slice is over and the CPU polls it");
                ctx.Task.Cancel();
                while (pointsAfterCancel < 100_000)
                {
                    pointsAfterCancel++;
                    await ctx.PreemptionPoint();
                }
            }
        }, SchedPolicy.RoundRobin);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => t.WithTimeout());
        Assert.Equal(RtTaskState.Cancelled, t.State);
        Assert.InRange(pointsAfterCancel, 1, 2); // this point, or the next one if this one had work to do first
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

    /// <summary>One CPU, 1 ms round-robin slices, no stall probe (its bit would be work at a point).</summary>
    private static RtScheduler StartOneCpuWithShortSlices() => Rt.Start(o =>
    {
        o.CpuCount = 1;
        o.RoundRobinSlice = TimeSpan.FromMilliseconds(1);
        o.StallThreshold = Rt.NoStallProbe;
    });

    /// <summary>
    /// Two round-robin tasks of one priority on <paramref name="rt"/>'s only CPU, each passing a point
    /// only once its slice is over and the CPU polls it, so that every point of theirs rotates; returns
    /// once they have rotated a few times. They wait for the slice's end by the CPU's own state.
    /// </summary>
    private static async Task<(RtTask A, RtTask B)> SpawnRotatingPairAsync(RtScheduler rt)
    {
        Cpu cpu = rt.Cpus[0];
        int rotations = 0;
        Func<TaskContext, ValueTask> body = async ctx =>
        {
            while (true)
            {
                // No point until the slice is over and the CPU polls it: the next point rotates.
                while ((Volatile.Read(ref ctx.Task.Gate) & (PendingWork.TimerSoon | PendingWork.Timer)) == 0 || RtClock.NowNs() < cpu.SliceDeadline)
                {
                    Thread.SpinWait(1);
                }

                Interlocked.Increment(ref rotations);
                await ctx.PreemptionPoint();
            }
        };
        RtTask a = rt.Spawn("rr-a", 10, body, SchedPolicy.RoundRobin);
        RtTask b = rt.Spawn("rr-b", 10, body, SchedPolicy.RoundRobin);
        await Rt.Until(() => Volatile.Read(ref rotations) > 4, "the two tasks rotate");
        return (a, b);
    }
}
