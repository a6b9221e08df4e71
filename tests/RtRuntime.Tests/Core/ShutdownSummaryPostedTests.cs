using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// The stop's <see cref="ShutdownSummary"/> counts the user's tasks: the runtime's own
/// <c>&lt;name&gt;/posted</c> drains (work posted to an ended task, or to the RunAsync context) are
/// reported apart, in <see cref="ShutdownSummary.Posted"/>.
/// </summary>
public class ShutdownSummaryPostedTests
{
    [Fact]
    public async Task WorkPostedToAnEndedTask_ItsDrainsAreCountedAsPosted_NotAsTheUsersTasks()
    {
        RtScheduler rt = Rt.Start(cpus: 1);
        RtTask t = rt.Spawn("ended", 10, _ => ValueTask.CompletedTask);
        await t.WithTimeout();

        // Two drains, one at a time: the first one's work completes, the second one's throws (it faults).
        var ran = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        t.Post(_ => ran.SetResult(), null);
        await ran.Task.WithTimeout();
        await Rt.Until(() => rt.LiveTasks == 0, "the first drain ended");
        bool threw = false;
        t.Post(_ =>
        {
            Volatile.Write(ref threw, true);
            throw new InvalidOperationException("posted work threw");
        }, null);
        await Rt.Until(() => Volatile.Read(ref threw) && rt.LiveTasks == 0, "the second drain ran its work and ended");

        ShutdownSummary summary = await rt.StopAsync(Rt.Hang).WithTimeout();

        Assert.Equal((1L, 1L, 0L, 0L, 0L), (summary.Accepted, summary.Completed, summary.Faulted, summary.Cancelled, summary.Abandoned));
        Assert.Equal(2, summary.Posted);
        Assert.True(summary.AllAccountedFor, summary.ToString());
    }

    [Fact]
    public async Task ADrainStillRunningPostedWorkAfterTheGrace_IsCountedAbandoned()
    {
        RtScheduler rt = Rt.Start(cpus: 1);
        RtTask t = rt.Spawn("ended", 10, _ => ValueTask.CompletedTask);
        await t.WithTimeout();
        using var release = new ManualResetEventSlim();
        bool running = false;
        t.Post(_ =>
        {
            Volatile.Write(ref running, true);
            release.Wait(Rt.Hang); // holds its CPU thread without any preemption point: the stop cannot end it
        }, null);
        await Rt.Until(() => Volatile.Read(ref running), "the drain runs the posted work");

        ShutdownSummary summary;
        try
        {
            summary = await rt.StopAsync(TimeSpan.Zero, TimeSpan.FromMilliseconds(50)).WithTimeout();
        }
        finally
        {
            release.Set();
        }

        // The user's task completed; the drain was left running on its CPU thread: abandoned, not a clean stop.
        Assert.Equal((1L, 1L, 0L, 0L, 1L), (summary.Accepted, summary.Completed, summary.Faulted, summary.Cancelled, summary.Abandoned));
        Assert.Equal(1, summary.Posted);
    }

    [Fact]
    public async Task APooledBodyAfterAForeignAwait_ItsRunAsyncDrainIsCountedAsPosted()
    {
        RtScheduler rt = Rt.Start(cpus: 1);
        var foreign = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        RtTask? task = null;
        ValueTask body = rt.RunAsync("pooled", 10, async ctx =>
        {
            Volatile.Write(ref task, ctx.Task);
            await foreign.Task; // resumes through the RunAsync context: on a runasync/posted task
        });
        await Rt.Until(() => Volatile.Read(ref task) is { State: RtTaskState.Blocked }, "the body waiting on its foreign await");
        foreign.SetResult();
        await body.AsTask().WithTimeout();
        await Rt.Until(() => rt.LiveTasks == 0, "the drain ended");

        ShutdownSummary summary = await rt.StopAsync(Rt.Hang).WithTimeout();

        Assert.Equal((1L, 1L, 0L, 0L), (summary.Accepted, summary.Completed, summary.Faulted, summary.Cancelled));
        Assert.True(summary.Posted >= 1, summary.ToString());
        Assert.True(summary.AllAccountedFor, summary.ToString());
    }
}
