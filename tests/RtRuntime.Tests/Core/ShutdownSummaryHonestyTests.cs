using System.Diagnostics.Metrics;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>The stop's summary counts each accepted task once, however late an abandoned one ends.</summary>
public class ShutdownSummaryHonestyTests
{
    [Fact]
    public async Task StopAsync_AbandonedTaskThatEndsBeforeTheSummary_IsCountedOnceAsItEnded()
    {
        var rt = Rt.Start(cpus: 1);
        var release = new ManualResetEventSlim();
        RtTask spinner = rt.Spawn("spinner", 10, _ =>
        {
            release.Wait(Rt.Hang); // holds its CPU thread without any preemption point
            return ValueTask.CompletedTask;
        });
        await Rt.Until(() => spinner.State == RtTaskState.Running, "the spinner runs");

        // The stop disposes the runtime's meter after it counted the spinner abandoned and before it
        // makes the summary: the listener's MeasurementsCompleted lets the spinner end right there.
        Meter meter = rt.Metrics.Meter;
        int armed = 1;
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
                if (Interlocked.Exchange(ref armed, 0) == 1)
                {
                    release.Set();
                    SpinWait.SpinUntil(() => spinner.IsCompleted, Rt.Hang);
                }
            },
        };
        listener.Start();

        ShutdownSummary summary;
        try
        {
            summary = await rt.StopAsync(TimeSpan.Zero, TimeSpan.FromMilliseconds(50)).WithTimeout();
        }
        finally
        {
            Volatile.Write(ref armed, 0);
            release.Set();
        }

        await spinner.WithTimeout();
        Assert.Equal(RtTaskState.Completed, spinner.State);
        Assert.Equal(new ShutdownSummary(1, 1, 0, 0, 0), summary); // not (1, 1, 0, 0, 1): two outcomes for one task
        Assert.True(summary.AllAccountedFor);
    }
}
