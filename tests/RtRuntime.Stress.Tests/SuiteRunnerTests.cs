using RtRuntime.Stress.Cli;
using Serilog;
using Serilog.Core;
using Serilog.Extensions.Logging;

namespace RtRuntime.Stress.Tests;

/// <summary>A scenario that throws, whatever the exception, is a FAIL with its seed, not a crash of the suite.</summary>
public class SuiteRunnerTests
{
    [Fact]
    public async Task RunOne_ScenarioThrowsAnUnexpectedException_ReportedAsAFailureWithItsSeed()
    {
        await using Logger log = new LoggerConfiguration().CreateLogger();
        using var factory = new SerilogLoggerFactory(log, dispose: false);
        var entry = new SuiteEntry(new ThrowingScenario(), new StressSettings { CpuCount = 2, Duration = TimeSpan.FromSeconds(1), Seed = 77 });

        ScenarioResult r = await SuiteRunner.RunOneAsync(entry, factory, log, new Progress<ScenarioProgress>(), CancellationToken.None);

        Assert.False(r.Passed);
        InvariantViolation v = Assert.Single(r.Violations);
        Assert.Equal(("scenario-completed", 77L), (v.Invariant, v.Seed));
        Assert.Contains("AggregateException", v.Message, StringComparison.Ordinal);
    }

    private sealed class ThrowingScenario() : StressScenario("throws")
    {
        public override string Kind => "throws";

        protected override Task RunCoreAsync(StressSettings settings, ScenarioResult result, IProgress<ScenarioProgress>? progress, CancellationToken cancellationToken) =>
            throw new AggregateException("cpu1 went offline, but 1 offline callback(s) threw.", new InvalidProgramException("callback"));
    }
}
