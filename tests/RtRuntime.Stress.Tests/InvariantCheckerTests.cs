using RtRuntime.PerCpu;
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

    [Fact]
    public async Task ABoostedHolder_FailsBoostReleased_AndPassesOnceUnlocked_AndTheLockReportsItsOwner()
    {
        var checker = new InvariantChecker("check", 3);
        await using RtScheduler rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1 });
        var localLock = new LocalLock(rt, "check");
        int hWaits = 0;
        bool ownerSeen = false, nullOwnerSeen = true, boostedSeen = true, unboostedSeen = false;
        RtTask? h = null;
        RtTask l = rt.Spawn("l", 10, async ctx =>
        {
            using (LocalLockGuard guard = await localLock.LockAsync(ctx))
            {
                ownerSeen = checker.CheckLockOwner("l", 0, localLock.OwnerOn(0), ctx.Task);
                nullOwnerSeen = checker.CheckLockOwner("l", 0, null, ctx.Task);
                h = rt.Spawn("h", 50, async hctx =>
                {
                    Volatile.Write(ref hWaits, 1);
                    using LocalLockGuard hGuard = await localLock.LockAsync(hctx);
                });
                while (ctx.Task.EffectivePriority != 50)
                {
                    await ctx.PreemptionPoint(); // h runs, blocks on the lock and boosts l
                }

                boostedSeen = checker.CheckUnboosted("l", ctx.Task); // still holding: boosted
            }

            unboostedSeen = checker.CheckUnboosted("l", ctx.Task, expectedBase: 10);
        });
        await l.AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        await h!.AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, hWaits);
        Assert.True(ownerSeen);
        Assert.False(nullOwnerSeen);
        Assert.False(boostedSeen);
        Assert.True(unboostedSeen);
        Assert.Equal(1, checker.Violations.Count(v => v.Invariant == Invariants.LocalLockExclusive));
        InvariantViolation boost = Assert.Single(checker.Violations, v => v.Invariant == Invariants.BoostReleased);
        Assert.Contains("priority 50, base 10", boost.Message, StringComparison.Ordinal);
    }
}
