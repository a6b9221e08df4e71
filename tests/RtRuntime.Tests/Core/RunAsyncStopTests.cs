using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// <see cref="RtScheduler.RunAsync"/> bodies that go on after a foreign await while the runtime stops:
/// their continuations run on <c>runasync/posted</c> tasks, which must still run while the stop drains
/// and through its cancel grace (a spawned body's continuation comes back to its own task and does:
/// the control, what RunAsync is documented to do "as Spawn does").
/// </summary>
public class RunAsyncStopTests
{
    [Theory]
    [InlineData(false, false)] // spawned, while the stop drains
    [InlineData(true, false)] // pooled, while the stop drains: before, the post was dropped (not accepting), the task never ended, the stop hung
    [InlineData(false, true)] // spawned, in the stop's cancel grace
    [InlineData(true, true)] // pooled, in the stop's cancel grace: before, the post was dropped (cancelling), the stop waited out its grace (here for ever)
    public async Task ABodyAwaitingForeignWork_GoesOnAndEndsWhileTheStopWaitsForIt(bool pooled, bool inCancelGrace)
    {
        var rt = Rt.Start(cpus: 1);
        var foreign = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        RtTask? task = null;
        bool finished = false;
        async ValueTask Body(TaskContext ctx)
        {
            task = ctx.Task;
            await foreign.Task;
            finished = true;
        }

        Task ended = pooled ? rt.RunAsync("awaits-foreign", 10, Body).AsTask() : rt.Spawn("awaits-foreign", 10, Body).AsTask();
        await Rt.Until(() => task is { State: RtTaskState.Blocked }, "the body waiting on its foreign await");

        Task<ShutdownSummary> stop = inCancelGrace
            ? rt.StopAsync(TimeSpan.Zero, Timeout.InfiniteTimeSpan) // no drain: cancels at once, then waits
            : rt.StopAsync(Timeout.InfiniteTimeSpan); // drains: waits for the live task
        if (inCancelGrace)
        {
            await Rt.Until(() => rt.CancellingAll && task!.CancelFlag != 0, "the stop cancelling the task");
        }

        foreign.SetResult(); // pooled: the continuation is posted to the runtime's RunAsync context, and a runasync/posted task must run it
        ShutdownSummary summary = await stop.WithTimeout();

        await ended.WithTimeout();
        Assert.True(finished);
        Assert.True(summary.AllAccountedFor, summary.ToString());
        Assert.Equal(0, summary.Cancelled);
    }
}
