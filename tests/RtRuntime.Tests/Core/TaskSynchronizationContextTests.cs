using Microsoft.Extensions.Logging;
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
        Assert.Contains(logs.Messages, m => m.Level == LogLevel.Debug && m.Message == "1 continuation(s) posted to task ended, which has ended, dropped: the runtime is stopping");
    }

    [Fact]
    public async Task PostInTheTasksLastStep_RunsAfterItEnds()
    {
        // The helper's continuation is posted while the body is still running (its last step): the
        // task ends without running it, and it must still run after.
        await using var rt = Rt.Start(cpus: 1);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task? helper = null;
        RtTask t = rt.Spawn("last-step", 10, ctx =>
        {
            helper = HelperAsync(gate.Task);
            gate.SetResult(); // posts the helper's continuation to this task, which is still running
            return ValueTask.CompletedTask;
        });
        await t.WithTimeout();
        await helper!.WaitAsync(Rt.Hang);

        static async Task HelperAsync(Task gate) => await gate;
    }

    [Fact]
    public async Task AsyncLoopOutlivingItsTask_KeepsOneContextNameAndRunsEveryHop()
    {
        await using var rt = Rt.Start(cpus: 1);
        var names = new List<string>();
        Task? loop = null;
        RtTask t = rt.Spawn("loop", 10, ctx =>
        {
            loop = LoopAsync(names);
            return ValueTask.CompletedTask;
        });
        await t.WithTimeout();
        await loop!.WaitAsync(Rt.Hang);
        Assert.Equal(20, names.Count);
        Assert.All(names, n => Assert.Equal("loop/posted", n)); // not loop/posted/posted/…

        static async Task LoopAsync(List<string> names)
        {
            for (int i = 0; i < 20; i++)
            {
                await Task.Delay(1); // each hop's continuation is posted to the context the last one ran under
                names.Add((SynchronizationContext.Current as RtTask)?.Name ?? "<none>");
            }
        }
    }

    [Fact]
    public async Task TwoPostsToAnEndedTask_RunOneAtATime()
    {
        // Under the task, its continuations ran one at a time; after it ended they still do.
        await using var rt = Rt.Start(cpus: 2);
        var gate = new TaskCompletionSource();
        int inside = 0, overlap = 0;
        var order = new System.Collections.Concurrent.ConcurrentQueue<int>();
        Task? a = null, b = null;
        RtTask t = rt.Spawn("owner", 10, ctx =>
        {
            a = HelperAsync(0);
            b = HelperAsync(1);
            return ValueTask.CompletedTask;
        });
        await t.WithTimeout();
        gate.SetResult(); // both continuations are posted to the ended task, in this order
        await Task.WhenAll(a!, b!).WaitAsync(Rt.Hang);
        Assert.Equal(0, overlap);
        Assert.Equal([0, 1], order.Order().ToArray());

        async Task HelperAsync(int i)
        {
            await gate.Task;
            order.Enqueue(i);
            if (Interlocked.Increment(ref inside) == 2)
            {
                Interlocked.Exchange(ref overlap, 1);
            }

            long until = RtRuntime.Cpus.RtClock.NowNs() + 100_000_000; // give a parallel run the chance to show
            while (Volatile.Read(ref inside) < 2 && RtRuntime.Cpus.RtClock.NowNs() < until)
            {
                Thread.SpinWait(20);
            }

            if (Volatile.Read(ref inside) == 2)
            {
                Interlocked.Exchange(ref overlap, 1);
            }

            Interlocked.Decrement(ref inside);
        }
    }
}
