using RtRuntime.Cpus;
using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Stress.Tests;

/// <summary>
/// Each invariant the scenarios check can fail: the checker is fed a violation made with a real runtime
/// (a task it was not told of, a task still live at the drain, a CPU outside a task's mask, a mutex
/// whose owner is not the task, an offline CPU) and records it under the invariant's name.
/// </summary>
public class InvariantFailureTests
{
    [Fact]
    public async Task ATaskTheHarnessDidNotTrack_FailsAllTasksAccounted()
    {
        var checker = new InvariantChecker("check", 3);
        await using RtScheduler rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1 });
        checker.Attach(rt);
        checker.Track(rt.Spawn("tracked", 10, _ => ValueTask.CompletedTask));
        await rt.Spawn("untracked", 10, _ => ValueTask.CompletedTask).AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        ShutdownSummary summary = await checker.StopAndCheckAsync(rt, TimeSpan.FromSeconds(30));

        Assert.Equal(2, summary.Accepted); // the runtime's count, not the checker's
        Assert.Contains(checker.Violations, v => v.Invariant == Invariants.AllTasksAccounted && v.Message.Contains("the harness spawned 1 tasks and 0 pooled tasks but the runtime accepted 2", StringComparison.Ordinal));
        Assert.Contains(checker.Violations, v => v.Invariant == Invariants.AllTasksAccounted && v.Message.Contains("completed/faulted/cancelled 1/0/0, the runtime 2/0/0", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ATaskStillLiveAtTheDrain_FailsCleanStop()
    {
        var checker = new InvariantChecker("check", 3);
        await using RtScheduler rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1 });
        checker.Attach(rt);
        var never = new RtEvent();
        RtTask stuck = rt.Spawn("stuck", 10, async ctx => await never.WaitAsync(ctx));
        checker.Track(stuck);

        await checker.StopAndCheckAsync(rt, TimeSpan.FromMilliseconds(100));

        InvariantViolation v = Assert.Single(checker.Violations, v => v.Invariant == Invariants.CleanStop);
        Assert.StartsWith("1 task(s) and 0 pooled task(s) still live 0.1 s after the run ended", v.Message, StringComparison.Ordinal);
        Assert.Equal(RtTaskState.Cancelled, stuck.State); // the stop cancelled it, which the harness never did
        Assert.Contains(checker.Violations, v => v.Invariant == Invariants.ExpectedOutcome);
    }

    [Fact]
    public async Task ACpuOutsideTheTasksMask_FailsAffinityRespected()
    {
        var checker = new InvariantChecker("check", 3);
        await using RtScheduler rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 2 });
        bool inMask = false, outside = true;
        await rt.Spawn("t", 10, ctx =>
        {
            inMask = checker.CheckAffinity("t", CpuSet.Of(1), ctx.RawCpuId);
            outside = checker.CheckAffinity("t", CpuSet.Of(0), ctx.RawCpuId); // as if its mask were {0}
            return ValueTask.CompletedTask;
        }, SchedPolicy.Fifo, CpuSet.Of(1)).AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal((true, false), (inMask, outside));
        AssertOneViolation(checker, Invariants.AffinityRespected, "task 't' with affinity {0} ran on CPU 1");
    }

    [Fact]
    public async Task AMutexReportingAnotherOwner_FailsRtMutexExclusive()
    {
        var checker = new InvariantChecker("check", 3);
        await using RtScheduler rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1 });
        var mutex = new RtMutex(rt, "check/m");
        bool held = false, released = true;
        await rt.Spawn("t", 10, async ctx =>
        {
            using (await mutex.LockAsync(ctx))
            {
                held = checker.CheckMutexOwner("t", mutex.Owner, ctx.Task);
            }

            released = checker.CheckMutexOwner("t", mutex.Owner, ctx.Task); // as if it still held the mutex
        }).AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal((true, false), (held, released));
        AssertOneViolation(checker, Invariants.RtMutexExclusive, "task 't' holds the RtMutex, which reports no owner");
    }

    [Fact]
    public async Task ATaskOnAnOfflineCpu_FailsHotplugConsistent()
    {
        var checker = new InvariantChecker("check", 3);
        await using RtScheduler rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 2 });
        await rt.OfflineAsync(1).WaitAsync(TimeSpan.FromSeconds(30));

        HotplugDriver.CheckOnline(rt, checker, "t", 0);
        HotplugDriver.CheckOnline(rt, checker, "t", 1);

        AssertOneViolation(checker, Invariants.HotplugConsistent, "task 't' ran on cpu1, which is offline");
        Assert.Equal(2, checker.Checks);
    }

    [Theory]
    [InlineData(Invariants.PerCpuSumExact)]
    [InlineData(Invariants.PoolAccounting)]
    [InlineData(Invariants.PermitsConserved)]
    [InlineData(Invariants.LocalLockExclusive)]
    [InlineData(Invariants.RtMutexExclusive)]
    [InlineData(Invariants.PriorityInheritanceBounds)]
    public async Task AnEndOfRunCountOffByOne_FailsItsInvariant(string invariant)
    {
        // The end-of-run sums compare a runtime structure's count (here a PerCpuCounter's Sum) with the
        // increments the tasks made: one lost increment is a failure of the invariant named.
        var checker = new InvariantChecker("check", 3);
        await using RtScheduler rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 2 });
        var counter = new PerCpuCounter(rt);
        await rt.Spawn("t", 10, ctx =>
        {
            counter.Increment(ctx);
            counter.Increment(ctx);
            return ValueTask.CompletedTask;
        }).AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(checker.CheckEqual(invariant, "the sum", 2, counter.Sum()));
        Assert.False(checker.CheckEqual(invariant, "the sum", 3, counter.Sum()));

        AssertOneViolation(checker, invariant, "the sum: expected 3, got 2 (off by -1)");
        Assert.False(checker.Passed);
    }

    [Fact]
    public async Task InversionWithoutInheritance_FailsPiBoundsInversion()
    {
        // --inject noinheritance: the rounds checked as RtMutex rounds take the RtSemaphore(1), which lends
        // the holder nothing, so the middle task computes while the high task waits.
        ScenarioResult r = await new InversionScenario { Inject = InversionInjection.NoInheritance }
            .RunAsync(new StressSettings { CpuCount = 1, Duration = TimeSpan.FromMilliseconds(100), Seed = 11 })
            .WaitAsync(TimeSpan.FromSeconds(120));

        InvariantViolation v = Assert.Single(r.Violations.Take(1));
        Assert.Equal(Invariants.PriorityInheritanceBounds, v.Invariant);
        Assert.StartsWith("the middle task's chunks on cpu0 while the high task waited for the RtMutex (round 0): expected 0, got ", v.Message, StringComparison.Ordinal);
        Assert.Contains("--inject noinheritance", v.Reproduce, StringComparison.Ordinal);
        Assert.All(r.Violations, x => Assert.Equal(Invariants.PriorityInheritanceBounds, x.Invariant));
    }

    [Fact]
    public async Task ARecordedCpuThatIsNotTheRunningThreads_FailsMigrateDisabledStaysAndAffinityRespected()
    {
        // RawCpuId is the runtime's record (task.Cpu): a task the record puts on cpu0 while cpu1's thread
        // runs it has moved, though the record alone looks right.
        var checker = new InvariantChecker("check", 3);
        await using RtScheduler rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 2 });
        bool truePinned = false, trueAffinity = false, pinned = true, affine = true;
        await rt.Spawn("t", 10, ctx =>
        {
            using MigrateGuard guard = ctx.MigrateDisable();
            truePinned = checker.CheckPinned("t", 1, ctx.RawCpuId);
            trueAffinity = checker.CheckAffinity("t", CpuSet.Of(1), ctx.RawCpuId);
            pinned = checker.CheckPinned("t", 0, 0); // as if the record said cpu0 throughout
            affine = checker.CheckAffinity("t", CpuSet.Of(0), 0);
            return ValueTask.CompletedTask;
        }, SchedPolicy.Fifo, CpuSet.Of(1)).AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal((true, true, false, false), (truePinned, trueAffinity, pinned, affine));
        Assert.Collection(checker.Violations,
            v => Assert.Equal((Invariants.MigrateDisabledStays, "task 't' entered a migrate-disabled section on CPU 0 and, still recorded there, was run by cpu1's thread inside it"), (v.Invariant, v.Message)),
            v => Assert.Equal((Invariants.AffinityRespected, "task 't' with affinity {0}, recorded on CPU 0, was run by cpu1's thread"), (v.Invariant, v.Message)));
    }

    [Fact]
    public async Task ARecordedOnlineCpuRunByAnOfflineCpusThread_FailsHotplugConsistent()
    {
        // An offline CPU's thread runs no task, so the check is fed from a thread named as that CPU's
        // (the name ThreadCpu reads), with the record saying an online CPU.
        var checker = new InvariantChecker("check", 3);
        await using RtScheduler rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 2 });
        await rt.OfflineAsync(1).WaitAsync(TimeSpan.FromSeconds(30));
        var thread = new Thread(() =>
        {
            HotplugDriver.CheckOnline(rt, checker, "t", 0);
        }) { Name = "rt/cpu1" };
        thread.Start();
        Assert.True(thread.Join(TimeSpan.FromSeconds(30)));
        HotplugDriver.CheckOnline(rt, checker, "t", 0); // on no CPU's thread: the record alone, which is online

        AssertOneViolation(checker, Invariants.HotplugConsistent, "task 't', recorded on cpu0, was run by cpu1's thread, which is offline");
    }

    private static void AssertOneViolation(InvariantChecker checker, string invariant, string message)
    {
        InvariantViolation v = Assert.Single(checker.Violations);
        Assert.Equal((invariant, message), (v.Invariant, v.Message));
    }
}
