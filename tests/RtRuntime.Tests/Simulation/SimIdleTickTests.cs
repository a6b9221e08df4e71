using RtRuntime.Simulation;
using static RtRuntime.Tests.Simulation.SimBuild;

namespace RtRuntime.Tests.Simulation;

/// <summary>
/// The balance tick while no task is queued (NO_HZ): it has nothing to push, so the ticks before the
/// next event are skipped rather than handled one by one, and still counted.
/// </summary>
public sealed class SimIdleTickTests
{
    /// <summary>
    /// One task sleeping 10^11 µs under the default 1000 µs tick: before, the 10^8 empty ticks of the
    /// sleep used up the 50 M event limit and the valid scenario ended with Completed false.
    /// </summary>
    [Fact]
    public void ALongSleep_UnderTheDefaultTick_Completes()
    {
        const long SleepUs = 100_000_000_000;
        var s = new SimScenario
        {
            Cpus = 2,
            Policy = BalancePolicy.WorkConserving,
            TickUs = 1000,
            Tasks = [Task("T", 10, cpu: 0, steps: [Run(5), Sleep(SleepUs), Run(5)])],
        };

        SimResult r = RunClean(s);

        Assert.True(r.Completed, r.ToString());
        Assert.Empty(r.StuckTasks);
        Assert.InRange(r.EndUs, SleepUs + 10, SleepUs + 1000 + 10); // the last event is the tick after the task ended
        Assert.True(r.Events < 1_000, $"{r.Events} events handled for one sleep");
        Assert.InRange(r.Ticks, (SleepUs / 1000) - 1, (SleepUs / 1000) + 1); // the skipped ticks are counted as passed
    }

    /// <summary>
    /// A skipped stretch stops at endUs: a run cut inside an idle stretch counts the ticks up to endUs
    /// (1000..60,000 µs) and none past it, under several seeds; uncut, the bursts after the stretches
    /// (three tasks queued on one CPU, which the tick pushes) still complete cleanly.
    /// </summary>
    [Theory]
    [InlineData(0L)]
    [InlineData(7L)]
    [InlineData(12345L)]
    public void IdleStretches_StopAtEndUs_AndTheRunGoesOnAfterThem(long seed)
    {
        SimScenario Make(long endUs) => new()
        {
            Cpus = 2,
            Policy = BalancePolicy.WorkConserving,
            TickUs = 1000,
            EndUs = endUs,
            Tasks =
            [
                Task("A", 10, cpu: 0, steps: [Run(300), Sleep(50_000), Run(300), Sleep(20_000), Run(300)]),
                Task("B", 20, cpu: 0, steps: [Run(300), Sleep(50_000), Run(300), Sleep(20_000), Run(300)]),
                Task("C", 30, cpu: 0, steps: [Run(300), Sleep(50_200), Run(300)]),
            ],
        };

        SimResult r = Simulator.Run(Make(0), seed, new SimOptions());
        Assert.True(r.Completed, r.ToString());
        Assert.Empty(r.Violations);

        // endUs inside the second idle stretch: the ticks up to it are counted, none past it.
        SimResult cut = Simulator.Run(Make(60_500), seed, new SimOptions());
        Assert.False(cut.Completed);
        Assert.Equal(60_500, cut.EndUs);
        Assert.Equal(60, cut.Ticks);
    }
}
