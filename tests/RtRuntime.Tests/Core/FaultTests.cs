using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>A task that throws faults its own completion only; the runtime keeps running.</summary>
public class FaultTests
{
    [Fact]
    public async Task Spawn_BodyThrowsSynchronously_TaskFaultsWithThatException()
    {
        await using var rt = Rt.Start(cpus: 1);
        var thrown = new InvalidProgramException("sync");
        var t = rt.Spawn("thrower", 10, _ => throw thrown);

        var e = await Assert.ThrowsAsync<InvalidProgramException>(() => t.WithTimeout());
        Assert.Same(thrown, e);
        Assert.Equal(RtTaskState.Faulted, t.State);
        Assert.Same(thrown, t.Exception);
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task Spawn_BodyThrowsAfterYieldAndSleep_TaskFaultsAndAwaiterRethrows()
    {
        await using var rt = Rt.Start(cpus: 1);
        var t = rt.Spawn<int>("thrower", 10, async ctx =>
        {
            await ctx.Yield();
            await ctx.Sleep(TimeSpan.FromMilliseconds(1));
            throw new DivideByZeroException("async");
        });

        await Assert.ThrowsAsync<DivideByZeroException>(async () => await t);
        Assert.Equal(RtTaskState.Faulted, t.State);
        Assert.Throws<DivideByZeroException>(() => t.Result);
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task Spawn_ManyFaultingTasksAmongGoodOnes_OnlyFaultingOnesFault()
    {
        await using var rt = Rt.Start(cpus: 2);
        var tasks = new List<RtTask<int>>();
        for (int i = 0; i < 200; i++)
        {
            int n = i;
            tasks.Add(rt.Spawn<int>("t" + n, 1 + (n % 90), async ctx =>
            {
                await ctx.Yield();
                if (n % 3 == 0)
                {
                    throw new ArithmeticException("t" + n);
                }

                await ctx.PreemptionPoint();
                return n;
            }));
        }

        foreach (RtTask<int> t in tasks)
        {
            try
            {
                await t.WithTimeout();
            }
            catch (ArithmeticException)
            {
            }
        }

        for (int i = 0; i < tasks.Count; i++)
        {
            if (i % 3 == 0)
            {
                Assert.Equal(RtTaskState.Faulted, tasks[i].State);
                Assert.Equal("t" + i, Assert.IsType<ArithmeticException>(tasks[i].Exception).Message);
            }
            else
            {
                Assert.Equal(RtTaskState.Completed, tasks[i].State);
                Assert.Equal(i, tasks[i].Result);
            }
        }

        await rt.AssertStillRunsTasks();
        Assert.Equal(0, rt.LiveTasks);
    }

    private static async Task ChildYield(TaskContext ctx) => await ctx.Yield();

    private static async Task ChildWait(TaskContext ctx, RtWaitQueue queue) => await queue.WaitAsync(ctx);

    [Fact]
    public async Task TwoFlowsSuspendingAtOnce_TaskFaultsWithAClearError_RuntimeKeepsRunning()
    {
        // An exception thrown from OnCompleted would escape to the ThreadPool and end the process.
        await using var rt = Rt.Start(cpus: 1);
        var t = rt.Spawn("flows", 10, async ctx =>
        {
            Task a = ChildYield(ctx);
            Task b = ChildYield(ctx); // a second runtime await while the first flow is suspended
            await Task.WhenAll(a, b);
        });

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => t.WithTimeout());
        Assert.Contains("one flow of control", e.Message, StringComparison.Ordinal);
        Assert.Equal(RtTaskState.Faulted, t.State);
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task TwoFlowsWaitingOnASemaphore_TheSecondTakesNothing_TheFaultedTaskLeavesTheQueue()
    {
        await using var rt = Rt.Start(cpus: 1);
        var sem = new RtSemaphore(0);
        var t = rt.Spawn("flows", 10, async ctx =>
        {
            Task a = ChildWait(ctx, sem); // blocks
            Task b = ChildWait(ctx, sem); // misuse: must neither queue nor take a permit
            await Task.WhenAll(a, b);
        });

        await Assert.ThrowsAsync<InvalidOperationException>(() => t.WithTimeout());
        Assert.Equal(0, sem.WaiterCount);
        sem.Release();
        Assert.Equal(1, sem.CurrentCount); // banked: no dead task took it
    }

    [Fact]
    public async Task BodyReturnsWhileAFlowWaits_TheWaitIsDropped_NextPermitGoesToALiveWaiter()
    {
        await using var rt = Rt.Start(cpus: 1);
        var sem = new RtSemaphore(0);
        var orphan = rt.Spawn("orphan", 20, ctx =>
        {
            _ = ChildWait(ctx, sem); // started, never awaited: the body returns while it waits
            return ValueTask.CompletedTask;
        });
        await orphan.WithTimeout();
        Assert.Equal(0, sem.WaiterCount);

        var live = rt.Spawn("live", 10, async ctx => await sem.WaitAsync(ctx));
        await Rt.Until(() => live.State == RtTaskState.Blocked, "live waiting");
        sem.Release();
        await live.WithTimeout();
    }

    [Fact]
    public async Task BodyReturnsAfterItsWaitingFlowWasGranted_ThePermitGoesBack()
    {
        await using var rt = Rt.Start(cpus: 1);
        var sem = new RtSemaphore(0);
        var orphan = rt.Spawn("orphan", 20, ctx =>
        {
            _ = ChildWait(ctx, sem);
            sem.Release(); // hands the permit to this task's waiting flow, which never resumes: the body returns
            return ValueTask.CompletedTask;
        });
        await orphan.WithTimeout();
        Assert.Equal(1, sem.CurrentCount);

        var live = rt.Spawn("live", 10, async ctx => await sem.WaitAsync(ctx));
        await live.WithTimeout();
        Assert.Equal(0, sem.CurrentCount);
    }

    [Fact]
    public async Task CancelRacingTheEndOfATaskWhoseFlowWaits_NoPermitAppearsFromNothing()
    {
        // Cancel() removes the waiting flow while the body returns (Finish abandons the wait): whichever
        // comes first, the task was never granted anything, so nothing may be given back. A race, so
        // many rounds; the invariant is exact in each (the semaphore is never released).
        await using var rt = Rt.Start(cpus: 1);
        var random = new Random(1);
        for (int round = 0; round < 5_000; round++)
        {
            var sem = new RtSemaphore(0);
            int waiting = 0, go = 0;
            int spins = random.Next(0, 64);
            var t = rt.Spawn("orphan", 20, ctx =>
            {
                _ = ChildWait(ctx, sem);
                Volatile.Write(ref waiting, 1);
                SpinWait.SpinUntil(() => Volatile.Read(ref go) != 0); // spins, then yields (one core is enough)
                return ValueTask.CompletedTask; // Finish abandons the wait, racing the Cancel below
            });
            SpinWait.SpinUntil(() => Volatile.Read(ref waiting) != 0);
            Volatile.Write(ref go, 1);
            Thread.SpinWait(spins);
            t.Cancel();
            _ = await Record.ExceptionAsync(() => t.WithTimeout()); // completed or cancelled: either is fine
            Assert.True(sem.CurrentCount == 0, $"round {round}: a permit nobody released (count {sem.CurrentCount})");
        }
    }

    [Fact]
    public async Task WaitCompletingAtOnceWhileAnotherFlowWaits_TheWaitingFlowIsStillDroppedWhenTheBodyReturns()
    {
        await using var rt = Rt.Start(cpus: 1);
        var sem = new RtSemaphore(0);
        var open = new RtSemaphore(1);
        var orphan = rt.Spawn("orphan", 20, async ctx =>
        {
            _ = ChildWait(ctx, sem); // suspended on sem
            await open.WaitAsync(ctx); // completes at once: must not take the other flow's wait for its own
        });
        await orphan.WithTimeout();
        Assert.Equal(0, sem.WaiterCount);
        Assert.Equal(0, open.CurrentCount);
    }

    [Fact]
    public async Task BodyReturnsAfterItsWaitingFlowWasSignalled_TheAutoResetSignalGoesToTheNextWaiter()
    {
        await using var rt = Rt.Start(cpus: 1);
        var signal = new RtEvent(autoReset: true);
        var live = rt.Spawn("live", 10, async ctx => await signal.WaitAsync(ctx));
        await Rt.Until(() => live.State == RtTaskState.Blocked, "live waiting");
        var orphan = rt.Spawn("orphan", 20, ctx =>
        {
            _ = ChildWait(ctx, signal); // queued ahead of "live" (higher priority)
            signal.Set(); // wakes this task's flow, which never resumes: the body returns
            return ValueTask.CompletedTask;
        });
        await orphan.WithTimeout();
        await live.WithTimeout();
        Assert.False(signal.IsSet);
    }

    [Fact]
    public async Task AwaiterWhoseContextThrowsFromPost_ContinuationRunsOnTheThreadPool_CpuKeepsRunning()
    {
        using var logs = new Hotplug.CapturingLoggerFactory();
        await using var rt = StartLogged(logs, cpus: 1);
        // The worker ends only once the continuation is registered: with a timed sleep, a test thread the
        // OS held off past it found the task complete, and its await ran inline, never posted.
        var go = new RtEvent();
        var t = rt.Spawn("worker", 10, async ctx => await go.WaitAsync(ctx));
        var resumed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        SynchronizationContext? previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(new RefusingContext());
        try
        {
            _ = AwaitThenSignal(t, resumed);
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }

        Assert.False(t.IsCompleted); // the await above registered its continuation (posted at the end)
        go.Set();
        Assert.True(await resumed.Task.WaitAsync(Rt.Hang)); // resumed on a ThreadPool thread
        Assert.Contains(logs.Messages, m => m.Message.Contains(nameof(RefusingContext), StringComparison.Ordinal) && m.Message.Contains("refused its continuation", StringComparison.Ordinal));
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task BugReportedHandlerThrows_TheOtherHandlersRun_TheTaskAndTheCpuGoOn()
    {
        using var logs = new Hotplug.CapturingLoggerFactory();
        await using var rt = StartLogged(logs, cpus: 2); // BUGs reported, not thrown into the task
        int seen = 0;
        rt.BugReported += _ => throw new InvalidOperationException("a handler that throws");
        rt.BugReported += _ => Interlocked.Increment(ref seen);
        var t = rt.Spawn<int>("bug", 10, ctx => ValueTask.FromResult(ctx.CpuId)); // smp_processor_id() in preemptible code

        Assert.InRange(await t.WithTimeout(), 0, 1);
        Assert.Equal(1, seen);
        Assert.Contains(logs.Messages, m => m.Message.Contains("A handler of RtScheduler.BugReported threw", StringComparison.Ordinal));
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task AwaiterOnATaskSchedulerThatRefusesWork_ContinuationRunsOnTheThreadPool()
    {
        // ConcurrentExclusiveSchedulerPair refuses new work once completed: QueueTask throws.
        await using var rt = Rt.Start(cpus: 1);
        var gate = new RtEvent();
        var t = rt.Spawn("worker", 10, async ctx => await gate.WaitAsync(ctx));
        var pair = new ConcurrentExclusiveSchedulerPair();
        Task<Task<bool>> awaiting = Task.Factory.StartNew(
            async () =>
            {
                await t; // captures the pair's scheduler
                return Thread.CurrentThread.IsThreadPoolThread;
            },
            CancellationToken.None,
            TaskCreationOptions.None,
            pair.ExclusiveScheduler);
        Task<bool> resumed = await awaiting.WaitAsync(Rt.Hang);
        await Rt.Until(() => t.State == RtTaskState.Blocked, "worker waiting");
        pair.Complete();
        gate.Set();

        Assert.True(await resumed.WaitAsync(Rt.Hang));
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task CancelledTaskThatCatchesCancellation_StillYieldsToAHigherTask()
    {
        await using var rt = Rt.Start(cpus: 1);
        bool release = false;
        var low = rt.Spawn("low", 10, async ctx =>
        {
            while (!Volatile.Read(ref release))
            {
                try
                {
                    await ctx.PreemptionPoint();
                }
                catch (OperationCanceledException)
                {
                    // a cleanup loop that outlives its cancellation
                }
            }
        });
        await Rt.Until(() => low.State == RtTaskState.Running, "low running");
        low.Cancel();
        var high = rt.Spawn("high", 50, _ => ValueTask.CompletedTask);

        await high.WithTimeout(); // ran while low still loops
        Volatile.Write(ref release, true);
        await low.WithTimeout();
    }

    [Fact]
    public async Task SleepForTimeSpanMaxValue_SleepsUntilCancelled()
    {
        await using var rt = Rt.Start(cpus: 1);
        var t = rt.Spawn("forever", 10, async ctx => await ctx.Sleep(TimeSpan.MaxValue));
        await Rt.Until(() => t.State == RtTaskState.Blocked, "asleep"); // not returned at once (the ns used to wrap negative)
        t.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => t.WithTimeout());
    }

    /// <summary>A runtime logging into <paramref name="logs"/>, without strict checks (BUGs are reported, not thrown).</summary>
    private static RtScheduler StartLogged(Hotplug.CapturingLoggerFactory logs, int cpus) => Rt.Start(o =>
    {
        o.CpuCount = cpus;
        o.LoggerFactory = logs;
        o.StrictChecks = false;
    });

    private static async Task AwaitThenSignal(RtTask t, TaskCompletionSource<bool> resumed)
    {
        await t;
        resumed.SetResult(Thread.CurrentThread.IsThreadPoolThread);
    }

    /// <summary>A context that has shut down: every Post throws.</summary>
    private sealed class RefusingContext : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state) => throw new InvalidOperationException("context is shut down");
    }
}
