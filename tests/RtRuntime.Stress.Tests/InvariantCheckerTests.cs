using RtRuntime.Tasks;

namespace RtRuntime.Stress.Tests;

/// <summary>
/// The expected-outcome check: a cancellation the harness did not cause is a failure, unless the run
/// was interrupted; pooled tasks (RunAsync) are counted and checked like tracked ones.
/// </summary>
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

    [Fact]
    public async Task PooledTasks_AreCountedAndChecked_AndAForeignFaultIsAFailure()
    {
        var checker = new InvariantChecker("check", 3);
        await using RtScheduler rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1 });
        checker.Attach(rt);
        checker.TrackPooled("ok", rt.RunAsync("ok", 10, _ => ValueTask.CompletedTask));
        checker.TrackPooled("injected", rt.RunAsync("injected", 10, _ => throw new InjectedFaultException("injected")), faultAllowed: true);
        checker.TrackPooled("foreign", rt.RunAsync("foreign", 10, _ => throw new InvalidOperationException("not injected")), faultAllowed: true);

        ShutdownSummary summary = await checker.StopAndCheckAsync(rt, TimeSpan.FromSeconds(30));

        Assert.Equal(3, summary.Accepted);
        Assert.DoesNotContain(checker.Violations, v => v.Invariant == Invariants.AllTasksAccounted); // the pooled ones count towards the runtime's figures
        InvariantViolation foreign = Assert.Single(checker.Violations, v => v.Invariant == Invariants.ExpectedOutcome);
        Assert.Contains("'foreign'", foreign.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APooledTaskSeeingAnotherLife_IsATaskObjectReuseFailure()
    {
        var checker = new InvariantChecker("check", 3);
        await using RtScheduler rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1 });
        RtTask? a = null, b = null;
        await rt.RunAsync("a", 10, ctx =>
        {
            a = ctx.Task;
            Assert.True(checker.CheckSameLife("a", ctx.Task, ctx.Task.Id, ctx.Task));
            return ValueTask.CompletedTask;
        });
        await rt.Spawn("b", 10, ctx =>
        {
            b = ctx.Task;
            return ValueTask.CompletedTask;
        });

        Assert.False(checker.CheckSameLife("a", a!, a!.Id, b!)); // another object
        Assert.False(checker.CheckSameLife("a", a, a.Id + 1, a)); // the same object, another id: a new life
        Assert.Equal(2, checker.Violations.Count(v => v.Invariant == Invariants.TaskObjectReuse));
    }
}
