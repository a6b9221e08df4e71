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
}
