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

    private static async Task ChildWait(TaskContext ctx, RtSemaphore sem) => await sem.WaitAsync(ctx);

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
    public async Task AwaiterWhoseContextThrowsFromPost_ContinuationRunsOnTheThreadPool_CpuKeepsRunning()
    {
        using var logs = new Hotplug.CapturingLoggerFactory();
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.LoggerFactory = logs;
        });
        var t = rt.Spawn("worker", 10, async ctx => await ctx.Sleep(TimeSpan.FromMilliseconds(20)));
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

        Assert.True(await resumed.Task.WaitAsync(Rt.Hang)); // resumed on a ThreadPool thread
        Assert.Contains(logs.Messages, m => m.Message.Contains(nameof(RefusingContext), StringComparison.Ordinal) && m.Message.Contains("threw from Post", StringComparison.Ordinal));
        await rt.AssertStillRunsTasks();
    }

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
