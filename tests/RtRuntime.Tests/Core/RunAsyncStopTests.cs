using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// <see cref="RtScheduler.RunAsync"/> bodies that go on after a foreign await while the runtime stops:
/// their continuations run on <c>runasync/posted</c> tasks, which must still run while the stop drains
/// (a spawned body's continuation comes back to its own task and does).
/// </summary>
public class RunAsyncStopTests
{
    [Fact]
    public async Task ASpawnedBodyAwaitingForeignWork_GoesOnAndEndsWhileTheStopDrains()
    {
        // The control: what RunAsync is documented to do "as Spawn does".
        var rt = Rt.Start(cpus: 1);
        var foreign = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool started = false, finished = false;
        RtTask t = rt.Spawn("awaits-foreign", 10, async ctx =>
        {
            started = true;
            await foreign.Task;
            finished = true;
        });
        await Rt.Until(() => started && t.State == RtTaskState.Blocked, "the body waiting on its foreign await");

        Task<ShutdownSummary> stop = rt.StopAsync(Timeout.InfiniteTimeSpan); // drains: waits for the live task
        foreign.SetResult();
        ShutdownSummary summary = await stop.WithTimeout();

        await t.WithTimeout();
        Assert.True(finished);
        Assert.Equal(RtTaskState.Completed, t.State);
        Assert.True(summary.AllAccountedFor, summary.ToString());
        Assert.Equal(0, summary.Cancelled);
    }

    [Fact]
    public async Task APooledBodyAwaitingForeignWork_GoesOnAndEndsWhileTheStopDrains()
    {
        var rt = Rt.Start(cpus: 1);
        var foreign = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        RtTask? task = null;
        bool finished = false;
        ValueTask run = rt.RunAsync("awaits-foreign", 10, async ctx =>
        {
            task = ctx.Task;
            await foreign.Task;
            finished = true;
        });
        await Rt.Until(() => task is { State: RtTaskState.Blocked }, "the body waiting on its foreign await");

        Task<ShutdownSummary> stop = rt.StopAsync(Timeout.InfiniteTimeSpan); // drains: waits for the live task
        foreign.SetResult(); // its continuation is posted to the runtime's RunAsync context: a runasync/posted task must run it
        ShutdownSummary summary = await stop.WithTimeout(); // before: the post was dropped (not accepting), the task never ended, the stop hung

        await run.AsTask().WithTimeout();
        Assert.True(finished);
        Assert.True(summary.AllAccountedFor, summary.ToString());
        Assert.Equal(0, summary.Cancelled);
    }
    [Fact]
    public async Task ASpawnedBodyAwaitingForeignWork_GoesOnAndEndsInTheStopsCancelGrace()
    {
        // The control: a body whose foreign await completes after the stop cancelled it comes back to its task and ends.
        var rt = Rt.Start(cpus: 1);
        var foreign = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool started = false, finished = false;
        RtTask t = rt.Spawn("awaits-foreign", 10, async ctx =>
        {
            started = true;
            await foreign.Task;
            finished = true;
        });
        await Rt.Until(() => started && t.State == RtTaskState.Blocked, "the body waiting on its foreign await");

        Task<ShutdownSummary> stop = rt.StopAsync(TimeSpan.Zero, Timeout.InfiniteTimeSpan); // no drain: cancels at once, then waits
        await Rt.Until(() => rt.CancellingAll && t.CancelFlag != 0, "the stop cancelling the task");
        foreign.SetResult();
        ShutdownSummary summary = await stop.WithTimeout();

        await t.WithTimeout();
        Assert.True(finished);
        Assert.Equal(RtTaskState.Completed, t.State);
        Assert.True(summary.AllAccountedFor, summary.ToString());
        Assert.Equal(0, summary.Cancelled);
    }

    [Fact]
    public async Task APooledBodyAwaitingForeignWork_GoesOnAndEndsInTheStopsCancelGrace()
    {
        var rt = Rt.Start(cpus: 1);
        var foreign = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        RtTask? task = null;
        bool finished = false;
        ValueTask run = rt.RunAsync("awaits-foreign", 10, async ctx =>
        {
            task = ctx.Task;
            await foreign.Task;
            finished = true;
        });
        await Rt.Until(() => task is { State: RtTaskState.Blocked }, "the body waiting on its foreign await");

        Task<ShutdownSummary> stop = rt.StopAsync(TimeSpan.Zero, Timeout.InfiniteTimeSpan); // no drain: cancels at once, then waits
        await Rt.Until(() => rt.CancellingAll && task!.CancelFlag != 0, "the stop cancelling the task");
        foreign.SetResult(); // its continuation is posted to the runtime's RunAsync context: a runasync/posted task must run it
        ShutdownSummary summary = await stop.WithTimeout(); // before: the post was dropped (cancelling), the task never ended, the stop waited out its grace (here for ever)

        await run.AsTask().WithTimeout();
        Assert.True(finished);
        Assert.True(summary.AllAccountedFor, summary.ToString());
        Assert.Equal(0, summary.Cancelled);
    }
}
