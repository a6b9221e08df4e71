using RtRuntime;
using RtRuntime.Simulation;
using static RtRuntime.Tests.Simulation.SimBuild;

namespace RtRuntime.Tests.Simulation;

/// <summary>
/// Bad input given through the builder API (scenarios and steps made in code, options) is refused as a
/// scenario file's would be, naming the field or argument, the value and what is allowed.
/// </summary>
public class SimBuilderInputTests
{
    [Theory]
    [InlineData("task")]
    [InlineData("wait")]
    [InlineData("lock")]
    [InlineData("localLock")]
    public void Validate_ANameWithAControlCharacter_IsRefusedAsInAFile(string where)
    {
        // A file's names were checked for control characters (the trace writes one event per line), a
        // scenario built in code was not: a line break in a name split its trace lines in two.
        const string Bad = "A\nB";
        SimStep[] steps = where switch
        {
            "wait" => [SimStep.Signal(Bad), SimStep.Wait(Bad)],
            "lock" => [SimStep.Lock(Bad), SimStep.Unlock(Bad)],
            "localLock" => [SimStep.LocalLock(Bad), SimStep.LocalUnlock(Bad)],
            _ => [Run(5)],
        };
        SimScenario s = Scenario(1, BalancePolicy.WorkConserving, Task(where == "task" ? Bad : "T", 10, steps: steps));

        var e = Assert.Throws<SimScenarioException>(() => Simulator.Run(s, 0));
        Assert.Equal(where == "task" ? "$.tasks[0].name" : $"$.tasks[0].steps[0].{(where == "wait" ? "signal" : where)}", e.Path);
        Assert.Contains("holds a control character (U+000A at index 1)", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void Lock_WithATimeoutBelowOneMicrosecond_IsRefusedNamingIt(long timeoutUs)
    {
        // SimStep.Lock("m", 0) was taken for Lock("m"): a wait without any timeout, where the threaded
        // WaitAsync(ctx, TimeSpan.Zero) takes the mutex only if it is free now (a file's "timeoutUs": 0 is refused).
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => SimStep.Lock("m", timeoutUs));
        Assert.Equal("timeoutUs", e.ParamName);
        Assert.Equal(timeoutUs, e.ActualValue);
        Assert.Contains("1 µs or more", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_ANegativeEventLimit_IsRefusedNamingIt()
    {
        // MaxEvents = -1 ran nothing and reported an incomplete run, as if the limit had been reached.
        SimScenario s = Scenario(1, BalancePolicy.WorkConserving, Task("T", 10, steps: [Run(5)]));

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Simulator.Run(s, 0, new SimOptions { MaxEvents = -1 }));
        Assert.Equal("MaxEvents", e.ParamName);
        Assert.Contains("must be 0 or more", e.Message, StringComparison.Ordinal);
        Assert.Equal(-1L, e.ActualValue);
    }
}
