using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// A task is the SynchronizationContext its body runs under: work posted to it runs as its own step on
/// its CPU (task_work_add), and Send is refused. Work posted after the task ended: PostedAfterExitTests.
/// </summary>
public class TaskSynchronizationContextTests
{
    [Fact]
    public async Task Body_RunsUnderItsOwnTaskAsSynchronizationContext()
    {
        await using var rt = Rt.Start(cpus: 1);
        RtTask<bool> t = rt.Spawn("self", 10, ctx => ValueTask.FromResult(ReferenceEquals(SynchronizationContext.Current, ctx.Task)));
        Assert.True(await t.WithTimeout());
    }

    [Fact]
    public async Task Post_FromAForeignThread_RunsOnTheTasksCpuAsItsStep_AndTheTaskGoesOnWaiting()
    {
        await using var rt = Rt.Start(cpus: 1);
        var release = new RtEvent();
        var blocked = new TaskCompletionSource();
        RtTask t = rt.Spawn("waiter", 10, async ctx =>
        {
            blocked.TrySetResult();
            await release.WaitAsync(ctx);
        });
        await blocked.Task.WithTimeout();
        await Rt.Until(() => t.State == RtTaskState.Blocked, "the task blocks on the event");

        var ran = new TaskCompletionSource<(string? Thread, bool UnderTask)>(TaskCreationOptions.RunContinuationsAsynchronously);
        t.Post(_ => ran.TrySetResult((Thread.CurrentThread.Name, ReferenceEquals(SynchronizationContext.Current, t))), null);
        (string? thread, bool underTask) = await ran.Task.WithTimeout();
        Assert.Equal("rt/cpu0", thread);
        Assert.True(underTask);

        await Rt.Until(() => t.State == RtTaskState.Blocked, "the task waits on the event again after the posted step");
        Assert.False(t.IsCompleted);
        release.Set();
        await t.WithTimeout();
        Assert.Equal(RtTaskState.Completed, t.State);
    }

    [Fact]
    public async Task Send_IsRefusedWithTheTasksName_AndPostValidatesItsCallback()
    {
        await using var rt = Rt.Start(cpus: 1);
        RtTask t = rt.Spawn("no-send", 10, ctx => ValueTask.CompletedTask);
        await t.WithTimeout();
        var e = Assert.Throws<NotSupportedException>(() => t.Send(_ => { }, null));
        Assert.Contains("no-send", e.Message, StringComparison.Ordinal);
        var n = Assert.Throws<ArgumentNullException>(() => t.Post(null!, null));
        Assert.Equal("d", n.ParamName);
        Assert.Same(t, t.CreateCopy());
    }

    [Fact]
    public async Task Post_BeforeTheTaskStarts_RunsFirst_AndTheBodyStillRuns()
    {
        // A higher task holds the only CPU, so the posted-to task is still queued, its body not started.
        await using var rt = Rt.Start(cpus: 1);
        int release = 0;
        var hogRuns = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        RtTask hog = rt.Spawn("hog", 50, async ctx =>
        {
            hogRuns.TrySetResult();
            while (Volatile.Read(ref release) == 0)
            {
                await ctx.PreemptionPoint();
            }
        });
        await hogRuns.Task.WithTimeout();
        var order = new System.Collections.Concurrent.ConcurrentQueue<string>();
        RtTask late = rt.Spawn("late", 10, ctx =>
        {
            order.Enqueue("body");
            return ValueTask.CompletedTask;
        });
        Assert.Equal(RtTaskState.Runnable, late.State);

        late.Post(_ => order.Enqueue("posted"), null);
        Volatile.Write(ref release, 1);
        await hog.WithTimeout();
        await late.WithTimeout();

        Assert.Equal(["posted", "body"], order.ToArray());
    }

    /// <summary>A context that runs what is posted to it at once, on the posting thread.</summary>
    private sealed class InlineContext : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state) => d(state);
    }

    /// <summary>
    /// A completion's continuation, captured under a SynchronizationContext that runs posts inline, is
    /// run by that context on the completing CPU thread; when it throws, the exception comes out of
    /// the context's Post, and the runtime took it for a refusal and ran the continuation a second
    /// time on the ThreadPool (a completion delivered twice). The runtime logs a refusal (and queues
    /// the second run) synchronously in the completion, so the log is the deterministic witness.
    /// </summary>
    [Fact]
    public async Task AContinuationThatThrowsUnderAnInlineContext_IsNotRunAgain()
    {
        using var logs = new RtRuntime.Tests.Hotplug.CapturingLoggerFactory();
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.LoggerFactory = logs;
        });
        var go = new RtEvent();
        int runs = 0;
#pragma warning disable CA2012 // its awaiter registers a continuation, as an await does
        ValueTask vt = rt.RunAsync("awaited", 10, async ctx => await go.WaitAsync(ctx));
#pragma warning restore CA2012
        SynchronizationContext? saved = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(new InlineContext());
        try
        {
            vt.GetAwaiter().OnCompleted(() =>
            {
                if (Interlocked.Increment(ref runs) == 1)
                {
                    throw new InvalidOperationException("the continuation's own failure");
                }
            });
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(saved);
        }

        go.Set();
        await Rt.Until(() => Volatile.Read(ref runs) >= 1, "the continuation run");
        await rt.AssertStillRunsTasks(); // one CPU: the completion that ran it has returned

        Assert.DoesNotContain(logs.Messages, m => m.Message.Contains("refused its continuation", StringComparison.Ordinal));
        Assert.Equal(1, Volatile.Read(ref runs));
    }
}
