using RtRuntime.Tasks;

namespace RtRuntime.Stress.Tests;

/// <summary>
/// expected-outcome in the scenarios that cancel some tasks on purpose (mixed, hotplug): a task the
/// harness did not choose to cancel must not end cancelled.
/// </summary>
public class ExpectedOutcomeTests
{
    [Fact]
    public async Task Mixed_AWorkloadCancelledByNoOne_IsAnExpectedOutcomeFailure()
    {
        var scenario = new MixedScenario { CancelRate = 0, FaultRate = 0, AffinityChanges = false, HotplugChurn = false };
        scenario.Workloads.Add(new StressWorkload("self-cancel", 80, TimeSpan.FromMilliseconds(2), async ctx =>
        {
            ctx.Task.Cancel(); // stands for a cancellation nobody asked for (a runtime bug)
            await ctx.PreemptionPoint();
        }));

        ScenarioResult r = await scenario.RunAsync(new StressSettings { CpuCount = 2, Duration = TimeSpan.FromSeconds(0.5), Seed = 4 });

        Assert.Contains(r.Violations, v => v.Invariant == Invariants.ExpectedOutcome && v.Message.Contains("workload/self-cancel", StringComparison.Ordinal));
    }
}
