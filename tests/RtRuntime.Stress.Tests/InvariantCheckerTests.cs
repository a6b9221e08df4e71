using RtRuntime.Tasks;

namespace RtRuntime.Stress.Tests;

/// <summary>The expected-outcome check: a cancellation the harness did not cause is a failure, unless the run was interrupted.</summary>
public class InvariantCheckerTests
{
    [Theory]
    [InlineData(false, false, true)]  // cancelled by someone else: caught
    [InlineData(true, false, false)]  // the harness may cancel it
    [InlineData(false, true, false)]  // Ctrl+C: everything may end cancelled
    public async Task CancelledTask_IsAFailureOnlyWhenNeitherAllowedNorInterrupted(bool cancelAllowed, bool interrupted, bool fails)
    {
        using var interruption = new CancellationTokenSource();
        var checker = new InvariantChecker("check", 3) { Interruption = interruption.Token };
        await using RtScheduler rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1 });
        checker.Attach(rt);
        var gate = new RtEvent();
        RtTask task = rt.Spawn("waiter", 10, async ctx => await gate.WaitAsync(ctx));
        checker.Track(task, cancelAllowed: cancelAllowed);
        task.Cancel();
        if (interrupted)
        {
            await interruption.CancelAsync();
        }

        await checker.StopAndCheckAsync(rt, TimeSpan.FromSeconds(30));

        Assert.Equal(RtTaskState.Cancelled, task.State);
        Assert.Equal(fails, checker.Violations.Any(v => v.Invariant == Invariants.ExpectedOutcome));
    }
}
