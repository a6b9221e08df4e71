using RtRuntime.Tasks;
using RtRuntime.Tests.Hotplug;

namespace RtRuntime.Tests.Core;

/// <summary>
/// A task is the SynchronizationContext its body runs under: work posted to it runs as its own step on
/// its CPU (task_work_add), Send is refused, and a post to an ended task runs as a task of its own
/// (dropped, and logged, only once the runtime is stopping).
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
    public async Task Post_ToAnEndedTask_RunsAsATaskOfItsOwnOnACpu()
    {
        await using var rt = Rt.Start(cpus: 1);
        RtTask t = rt.Spawn("ended", 10, ctx => ValueTask.CompletedTask);
        await t.WithTimeout();
        var ran = new TaskCompletionSource<(string?, string?)>(TaskCreationOptions.RunContinuationsAsynchronously);
        t.Post(_ => ran.TrySetResult((Thread.CurrentThread.Name, (SynchronizationContext.Current as RtTask)?.Name)), null);
        Assert.Equal(("rt/cpu0", "ended/posted"), await ran.Task.WaitAsync(Rt.Hang));
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task AsyncCallNotAwaited_OutlivesItsTask_CompletesOnTheRuntime()
    {
        // The body starts an async helper and returns without awaiting it: the helper's continuation
        // comes back to the task's context after the task has ended, and must still run (on a CPU).
        await using var rt = Rt.Start(cpus: 2);
        Task<string?>? escaped = null;
        RtTask t = rt.Spawn("starter", 10, ctx =>
        {
            escaped = HelperAsync();
            return ValueTask.CompletedTask;
        });
        await t.WithTimeout();
        Assert.Equal(RtTaskState.Completed, t.State);
        Assert.StartsWith("rt/cpu", await escaped!.WaitAsync(Rt.Hang), StringComparison.Ordinal);
        await rt.AssertStillRunsTasks();

        static async Task<string?> HelperAsync()
        {
            await Task.Delay(20);
            return Thread.CurrentThread.Name;
        }
    }

    [Fact]
    public async Task Post_ToAnEndedTaskAfterStop_IsDroppedAndLogged()
    {
        using var logs = new CapturingLoggerFactory();
        var rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.LoggerFactory = logs;
        });
        RtTask t = rt.Spawn("ended", 10, ctx => ValueTask.CompletedTask);
        await t.WithTimeout();
        await rt.DisposeAsync();
        bool ran = false;
        t.Post(_ => ran = true, null);
        Assert.False(ran);
        Assert.Contains(logs.Messages, m => m.Message.Contains("posted to task ended, which has ended, was dropped: the runtime is stopping", StringComparison.Ordinal));
    }
}
