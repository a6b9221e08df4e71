using RtRuntime.Cpus;
using RtRuntime.Tasks;
using RtRuntime.Tests.Hotplug;

namespace RtRuntime.Tests.Core;

/// <summary>RtTaskScheduler: where Task code resumes, and that a queued Task is never left behind.</summary>
public class RtTaskSchedulerTests
{
    [Fact]
    public async Task AwaitingAnRtTask_InsideATaskOnTheScheduler_ResumesOnTheScheduler()
    {
        // As a Task awaiter does: no SynchronizationContext, so the current TaskScheduler.
        await using var rt = Rt.Start(cpus: 2);
        var scheduler = new RtTaskScheduler(rt, 10);
        Task<(string? Thread, bool OnScheduler)> work = Task.Factory.StartNew(async () =>
        {
            await rt.Spawn("child", 20, async ctx => await ctx.Sleep(TimeSpan.FromMilliseconds(2)));
            return (Thread.CurrentThread.Name, TaskScheduler.Current == scheduler);
        }, CancellationToken.None, TaskCreationOptions.None, scheduler).Unwrap();

        (string? thread, bool onScheduler) = await work.WithTimeout();
        Assert.StartsWith("rt/cpu", thread, StringComparison.Ordinal);
        Assert.True(onScheduler);
    }

    [Fact]
    public async Task ContinuationInlinedOnARuntimeTask_ItsAwaitsResumeThroughTheScheduler_NotTheEndedTask()
    {
        await using var rt = Rt.Start(cpus: 2);
        var scheduler = new RtTaskScheduler(rt, 10);
        Task<Task<string?>>? inner = null;
        await rt.Spawn("A", 50, ctx =>
        {
            // Runs inline on A (ExecuteSynchronously, A outranks the scheduler); A ends right after.
            inner = Task.CompletedTask.ContinueWith(
                async _ =>
                {
                    await Task.Delay(5);
                    return Thread.CurrentThread.Name;
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                scheduler);
            return ValueTask.CompletedTask;
        }).WithTimeout();

        Assert.StartsWith("rt/cpu", await inner!.Unwrap().WithTimeout(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ContinuationInlinedOnAHigherTask_OnACpuOutsideTheSchedulersAffinity_RunsInsideItInstead()
    {
        // A completes a Task on cpu0 whose ExecuteSynchronously continuation belongs to a scheduler
        // affine to cpu1: A outranks the scheduler, but the continuation may not run on cpu0.
        await using var rt = Rt.Start(cpus: 2);
        var scheduler = new RtTaskScheduler(rt, 10, affinity: CpuSet.Of(1));
        Task<string?>? continuation = null;
        await rt.Spawn("A", 50, ctx =>
        {
            continuation = Task.CompletedTask.ContinueWith(
                _ => Thread.CurrentThread.Name,
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                scheduler);
            return ValueTask.CompletedTask;
        }, affinity: CpuSet.Of(0)).WithTimeout();

        Assert.Equal("rt/cpu1", await continuation!.WithTimeout());
    }

    [Fact]
    public async Task ContinuationInlinedOnAnotherRuntimesTask_RunsOnItsOwnRuntime()
    {
        // A task of another runtime completes a Task whose ExecuteSynchronously continuation belongs
        // to this runtime's scheduler: it must run on this runtime's CPUs, not the other's.
        await using var rt = Rt.Start(cpus: 1);
        await using var other = Rt.Start(cpus: 1);
        var scheduler = new RtTaskScheduler(rt, 10);
        Task<RtScheduler?>? continuation = null;
        await other.Spawn("A", 50, ctx =>
        {
            continuation = Task.CompletedTask.ContinueWith(
                _ => RtRuntime.Cpus.Cpu.Current?.Scheduler,
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                scheduler);
            return ValueTask.CompletedTask;
        }).WithTimeout();

        Assert.Same(rt, await continuation!.WithTimeout());
    }

    [Fact]
    public async Task QueuedTask_WrapperCancelledBeforeItStarts_TheTaskStillRunsOnTheThreadPool()
    {
        // A wrapper cancelled before it starts (a stop's cancellation can reach it there) never runs its
        // body: the Task must run elsewhere, not stay WaitingToRun.
        await using var rt = Rt.Start(cpus: 1);
        bool release = false;
        // Holds the only CPU, passing points: the wrapper (priority 10) waits.
        var hog = rt.Spawn("hog", 50, async ctx => await ctx.SpinUntil(() => Volatile.Read(ref release), "hog released"));
        await Rt.Until(() => hog.State == RtTaskState.Running, "hog running");
        var scheduler = new RtTaskScheduler(rt, 10);
        Task<string?> queued = Task.Factory.StartNew(() => Thread.CurrentThread.Name, CancellationToken.None, TaskCreationOptions.None, scheduler);

        // The wrapper waits behind the hog; cancel it there (as a stop's cancellation does to a task it
        // reaches before it starts), then let the CPU pick it: it ends Cancelled without its body.
        RtTask? wrapper = null;
        await Rt.Until(() => (wrapper = Cpus0Queue(rt).FirstOrDefault(t => t.Name == "tasksched-p10")) is not null, "wrapper queued");
        rt.RequestCancel(wrapper!);
        Volatile.Write(ref release, true);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wrapper!.WithTimeout());
        Assert.DoesNotContain("rt/cpu", await queued.WithTimeout() ?? string.Empty, StringComparison.Ordinal); // ran, on the ThreadPool
        await hog.WithTimeout();
    }

    [Fact]
    public async Task QueuedTask_ItsTokenCancelledWhileItWaitsForACpu_EndsCancelledAtOnce()
    {
        // A Task (started with Start, or a continuation) whose token is cancelled before it runs ends
        // Canceled as the token is cancelled: the TPL takes it back from its scheduler (TryDequeue). It
        // must not wait WaitingToRun until the CPU is free. (Task.Factory.StartNew registers no callback
        // on its token, on any scheduler: such a Task ends Canceled when it would have run.)
        await using var rt = Rt.Start(cpus: 1);
        bool release = false;
        var hog = rt.Spawn("hog", 50, async ctx => await ctx.SpinUntil(() => Volatile.Read(ref release), "hog released"));
        await Rt.Until(() => hog.State == RtTaskState.Running, "hog running");
        var scheduler = new RtTaskScheduler(rt, 10);
        using var cts = new CancellationTokenSource();
        bool ran = false;
        var queued = new Task(() => Volatile.Write(ref ran, true), cts.Token);
        queued.Start(scheduler);
        await Rt.Until(() => Cpus0Queue(rt).Any(t => t.Name == "tasksched-p10"), "wrapper queued");

        cts.Cancel();
        Assert.Equal(TaskStatus.Canceled, queued.Status);

        // Its wrapper still runs once the CPU is free, and finds nothing to run.
        Volatile.Write(ref release, true);
        await hog.WithTimeout();
        await Rt.Until(() => rt.Snapshot().Tasks.All(t => t.Name != "tasksched-p10"), "wrapper ended");
        Assert.False(Volatile.Read(ref ran));
    }

    [Fact]
    public async Task TaskWaitedOnByALowerTask_OnTheOnlyCpu_RunsInlineInsteadOfDeadlockingTheCpu()
    {
        // A task at 5 queues a Task on the adapter at 10 and Waits for it, on the only CPU: the Task's
        // runtime task preempts the waiter only at a preemption point, which the blocked waiter never
        // reaches. The Wait must run the Task inline.
        await using var rt = Rt.Start(cpus: 1);
        var scheduler = new RtTaskScheduler(rt, 10);
        string? ranOn = null;
        RtTask waiter = rt.Spawn("waiter", 5, ctx =>
        {
            var work = new Task(() => ranOn = Thread.CurrentThread.Name);
            work.Start(scheduler);
            work.Wait();
            return ValueTask.CompletedTask;
        });

        await waiter.WithTimeout();
        Assert.Equal("rt/cpu0", ranOn);
    }

    [Fact]
    public async Task AwaitInsideATaskOnTheScheduler_ResumingAfterTheRuntimeStopped_StillCompletes()
    {
        // The await's continuation is queued to the scheduler after the stop: it must run somewhere
        // (the ThreadPool), not be dropped with the async method left suspended for ever.
        var rt = Rt.Start(cpus: 1);
        var scheduler = new RtTaskScheduler(rt, 10);
        var awaiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<int> work = Task.Factory.StartNew(async () =>
        {
            awaiting.SetResult();
            await gate.Task;
            return 42;
        }, CancellationToken.None, TaskCreationOptions.None, scheduler).Unwrap();
        await awaiting.Task.WithTimeout();
        ShutdownSummary summary = await rt.StopAsync(TimeSpan.FromSeconds(5)).WithTimeout();
        Assert.True(summary.AllAccountedFor);

        gate.SetResult();
        Assert.Equal(42, await work.WithTimeout());
    }

    [Fact]
    public async Task MaximumConcurrencyLevel_IsTheNumberOfCpusItsAffinityAllows()
    {
        // Parallel.For and the like start that many workers: a scheduler confined to one CPU runs one at a time.
        await using var rt = Rt.Start(cpus: 2);
        Assert.Equal(1, new RtTaskScheduler(rt, 10, affinity: CpuSet.Of(1)).MaximumConcurrencyLevel);
        Assert.Equal(2, new RtTaskScheduler(rt, 10).MaximumConcurrencyLevel);
    }

    [Fact]
    public async Task Constructor_AffinityOfOfflineCpusOnly_ThrowsEinvalNamingTheActiveCpus()
    {
        // Was: accepted, and every Task it ran was widened to every CPU with a "no longer affine" warning.
        using var logs = new CapturingLoggerFactory();
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 4;
            o.LoggerFactory = logs;
        });
        await rt.OfflineAsync(2).WithTimeout();
        await rt.OfflineAsync(3).WithTimeout();

        SpawnOntoOfflineCpusTests.AssertEinval(Assert.Throws<ArgumentOutOfRangeException>(() => new RtTaskScheduler(rt, 10, affinity: CpuSet.Of(2, 3))), "2-3", "0-1");

        // One active CPU among offline ones is enough, and its Tasks run there, unwidened.
        var mixed = new RtTaskScheduler(rt, 10, affinity: CpuSet.Of(1, 2, 3));
        Assert.Equal(1, await Task.Factory.StartNew(() => Cpu.Current!.Id, CancellationToken.None, TaskCreationOptions.None, mixed).WithTimeout());
        Assert.DoesNotContain(logs.Messages, m => m.Message.Contains("no longer affine", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CpusOfItsAffinityGoOfflineLater_ItsTasksAndContinuationsStillRun_WidenedWithAWarning()
    {
        // select_fallback_rq, as for a task whose CPUs go offline after it was placed: QueueTask neither
        // throws (Task.Start would throw, a continuation would fault) nor loses the Task.
        using var logs = new CapturingLoggerFactory();
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.LoggerFactory = logs;
        });
        var scheduler = new RtTaskScheduler(rt, 10, affinity: CpuSet.Of(1), name: "on1");
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var atAwait = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<(int Before, int After)> work = Task.Factory.StartNew(async () =>
        {
            int before = Cpu.Current!.Id;
            atAwait.SetResult();
            await gate.Task; // resumes through the scheduler: a new runtime task, queued after the offline
            return (before, Cpu.Current!.Id);
        }, CancellationToken.None, TaskCreationOptions.None, scheduler).Unwrap();
        await atAwait.Task.WithTimeout();

        await rt.OfflineAsync(1).WithTimeout();
        var started = new Task<int>(() => Cpu.Current!.Id);
        started.Start(scheduler); // would throw TaskSchedulerException if QueueTask threw
        gate.SetResult();

        Assert.Equal(0, await started.WithTimeout());
        Assert.Equal((1, 0), await work.WithTimeout());
        Assert.Contains(logs.Messages, m => m.Message.Contains("task on1 no longer affine to cpu1", StringComparison.Ordinal));

        // Its CPU back: its Tasks run there again (each Task's runtime task is widened, not the adapter).
        await rt.OnlineAsync(1).WithTimeout();
        Assert.Equal(1, await Task.Factory.StartNew(() => Cpu.Current!.Id, CancellationToken.None, TaskCreationOptions.None, scheduler).WithTimeout());
    }

    private static List<RtTask> Cpus0Queue(RtScheduler rt)
    {
        using (rt.Cpus[0].Lock.EnterScope())
        {
            return rt.Cpus[0].Rq.ToList();
        }
    }
}
