using System.Diagnostics.Metrics;
using System.Reflection;
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

    [Fact]
    public async Task WorkPostedToAnEndedTaskAsTheStopSumsUp_ItsRefusedDrainIsNotCounted()
    {
        // A post to an ended task counts its drain before it is admitted (so that the drain's end is never
        // counted without it) and takes it back when refused. The summary read it in between: Posted 1 and
        // Accepted 0 for a stop whose one user task completed and whose drain never existed. The window is
        // opened where the stop disposes its meter (after the drain, before the sums): the refusal waits
        // there for the drain lock, held by the test.
        RtScheduler rt = Rt.Start(cpus: 1);
        RtTask t = rt.Spawn("ended", 10, _ => ValueTask.CompletedTask);
        await t.WithTimeout();
        var drainLock = (Lock)typeof(RtScheduler).GetField("_drainLock", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(rt)!;
        FieldInfo postedAdmitted = typeof(RtScheduler).GetField("_postedAdmitted", BindingFlags.NonPublic | BindingFlags.Instance)!;
        Meter meter = rt.Metrics.Meter;
        ThreadHold? hold = null;
        Thread? poster = null;
        bool postRan = false;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter, meter))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
            MeasurementsCompleted = (_, _) =>
            {
                if (poster is not null)
                {
                    return; // once, for the first instrument
                }

                hold = new ThreadHold(release =>
                {
                    using (drainLock.EnterScope())
                    {
                        release();
                    }
                }, "drain-lock");
                poster = new Thread(() => t.Post(_ => Volatile.Write(ref postRan, true), null)) { IsBackground = true, Name = "poster" };
                poster.Start();
                SpinWait.SpinUntil(() => (long)postedAdmitted.GetValue(rt)! == 1, Rt.Hang); // counted, waiting for the lock
            },
        };
        listener.Start();

        ShutdownSummary summary;
        try
        {
            summary = await rt.StopAsync(Rt.Hang).WithTimeout();
        }
        finally
        {
            hold?.Dispose();
            poster?.Join(Rt.Hang);
        }

        Assert.NotNull(poster); // the window was opened
        Assert.Equal(0L, (long)postedAdmitted.GetValue(rt)!); // the drain was refused
        Assert.False(Volatile.Read(ref postRan));
        Assert.Equal((1L, 1L, 0L, 0L, 0L), (summary.Accepted, summary.Completed, summary.Faulted, summary.Cancelled, summary.Abandoned));
        Assert.Equal(0, summary.Posted);
        Assert.True(summary.AllAccountedFor, summary.ToString());
    }
}
