using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>Wakeup preemption: need_resched is acted on at the running task's next preemption point.</summary>
public class PreemptionTests
{
    [Fact]
    public async Task PreemptionPoint_HigherPrioritySpawnedOnSameCpu_RunsBeforeLowFinishes()
    {
        await using var rt = Rt.Start(cpus: 1);
        var log = new EventLog();
        var lowRunning = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var highRan = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var low = rt.Spawn("low", 10, async ctx =>
        {
            log.Add("low:start");
            lowRunning.SetResult();

            // Never finishes unless it is preempted and the high task runs in between.
            await ctx.SpinUntil(() => highRan.Task.IsCompleted, "high ran");
            log.Add("low:end");
        });
        await lowRunning.Task.WithTimeout();

        var high = rt.Spawn("high", 50, _ =>
        {
            log.Add("high");
            highRan.SetResult();
            return ValueTask.CompletedTask;
        });
        await high.WithTimeout();
        await low.WithTimeout();

        Assert.Equal(["low:start", "high", "low:end"], log.Snapshot());
        Assert.Equal(1, low.Preemptions);
        Assert.Equal(2, low.Switches);
        Assert.Equal(0, high.Preemptions);
    }

    [Fact]
    public async Task PreemptionPoint_NoPreemptionPointReached_HigherPriorityWaitsUntilTaskCompletes()
    {
        await using var rt = Rt.Start(cpus: 1);
        var log = new EventLog();
        RtTask? high = null;

        // Cooperative preemption: a running task is never switched out between preemption points.
        var low = rt.Spawn("low", 10, ctx =>
        {
            high = rt.Spawn("high", 50, _ =>
            {
                log.Add("high");
                return ValueTask.CompletedTask;
            });
            for (int i = 0; i < 1000; i++)
            {
                Thread.SpinWait(10);
            }

            log.Add("low:end");
            return ValueTask.CompletedTask;
        });
        await low.WithTimeout();
        await high!.WithTimeout();

        Assert.Equal(["low:end", "high"], log.Snapshot());
        Assert.Equal(0, low.Preemptions);
    }

    [Fact]
    public async Task PreemptionPoint_PreemptedTask_ResumesBeforeTasksOfItsPriorityQueuedBehindIt()
    {
        await using var rt = Rt.Start(cpus: 1);
        var log = new EventLog();
        var aRunning = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var highRan = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var a = rt.Spawn("A", 10, async ctx =>
        {
            log.Add("A:start");
            aRunning.SetResult();
            await ctx.SpinUntil(() => highRan.Task.IsCompleted, "high ran");
            log.Add("A:end");
        });
        await aRunning.Task.WithTimeout();

        var b = rt.Spawn("B", 10, _ =>
        {
            log.Add("B");
            return ValueTask.CompletedTask;
        });
        var high = rt.Spawn("high", 50, _ =>
        {
            log.Add("high");
            highRan.SetResult();
            return ValueTask.CompletedTask;
        });
        await new[] { high, a, b }.AllWithTimeout();

        // A preempted task goes back to the head of its priority, not behind B.
        Assert.Equal(["A:start", "high", "A:end", "B"], log.Snapshot());
    }

    [Fact]
    public async Task PreemptionPoint_LowerPrioritySpawned_DoesNotPreemptRunningTask()
    {
        await using var rt = Rt.Start(cpus: 1);
        var log = new EventLog();
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var lowSpawned = new TaskCompletionSource<RtTask>(TaskCreationOptions.RunContinuationsAsynchronously);

        var mid = rt.Spawn("mid", 50, async ctx =>
        {
            running.SetResult();
            await ctx.SpinUntil(() => lowSpawned.Task.IsCompleted, "low spawned");
            for (int i = 0; i < 100; i++)
            {
                await ctx.PreemptionPoint();
            }

            log.Add("mid:end");
        });
        await running.Task.WithTimeout();
        var low = rt.Spawn("low", 10, _ =>
        {
            log.Add("low");
            return ValueTask.CompletedTask;
        });
        lowSpawned.SetResult(low);
        await new[] { mid, low }.AllWithTimeout();

        Assert.Equal(["mid:end", "low"], log.Snapshot());
        Assert.Equal(0, mid.Preemptions);
    }

    [Fact]
    public async Task PreemptionPoint_NormalTaskRunning_RtTaskOfLowestPriorityPreemptsIt()
    {
        // Scenario 39: class preemption. Any RT priority outranks the normal class.
        await using var rt = Rt.Start(cpus: 1);
        var log = new EventLog();
        var normalRunning = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var rtRan = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var normal = rt.Spawn("normal", 0, async ctx =>
        {
            log.Add("normal:start");
            normalRunning.SetResult();
            await ctx.SpinUntil(() => rtRan.Task.IsCompleted, "rt ran");
            log.Add("normal:end");
        }, SchedPolicy.Normal);
        await normalRunning.Task.WithTimeout();

        var rtTask = rt.Spawn("rt1", 1, _ =>
        {
            log.Add("rt1");
            rtRan.SetResult();
            return ValueTask.CompletedTask;
        });
        await new[] { rtTask, normal }.AllWithTimeout();

        Assert.Equal(["normal:start", "rt1", "normal:end"], log.Snapshot());
        Assert.Equal(1, normal.Preemptions);
        Assert.Equal(0, normal.EffectivePriority);
        Assert.Equal(SchedPolicy.Normal, normal.Policy);
    }

    [Fact]
    public async Task Spawn_NormalAndRtQueuedBehindGate_NormalRunsAfterEveryRtTask()
    {
        await using var rt = Rt.Start(cpus: 1);
        var log = new EventLog();
        var spawned = new List<RtTask>();
        var gate = rt.Spawn("gate", 99, _ =>
        {
            spawned.Add(rt.Spawn("n1", 0, _ => { log.Add("n1"); return ValueTask.CompletedTask; }, SchedPolicy.Normal));
            spawned.Add(rt.Spawn("rr1", 1, _ => { log.Add("rr1"); return ValueTask.CompletedTask; }, SchedPolicy.RoundRobin));
            spawned.Add(rt.Spawn("n2", 0, _ => { log.Add("n2"); return ValueTask.CompletedTask; }, SchedPolicy.Normal));
            spawned.Add(rt.Spawn("f1", 1, _ => { log.Add("f1"); return ValueTask.CompletedTask; }));
            return ValueTask.CompletedTask;
        });
        await gate.WithTimeout();
        await spawned.AllWithTimeout();

        Assert.Equal(["rr1", "f1", "n1", "n2"], log.Snapshot());
    }

    [Theory]
    [InlineData("PreemptionPoint")]
    [InlineData("Yield")]
    public async Task PreemptionPoint_FirstAfterForeignAwait_SwitchesToWaitingHigherPriority(string point)
    {
        await using var rt = Rt.Start(cpus: 1);
        var log = new EventLog();
        RtTask? h = null;
        var t = rt.Spawn("T", 10, async ctx =>
        {
            await Task.Delay(1); // resumes on its CPU through the task's SynchronizationContext
            h = rt.Spawn("H", 50, _ =>
            {
                log.Add("H");
                return ValueTask.CompletedTask;
            });
            if (point == "Yield")
            {
                await ctx.Yield();
            }
            else
            {
                await ctx.PreemptionPoint();
            }

            log.Add("T:after " + point);
        });
        await t.WithTimeout();
        await h!.WithTimeout();

        Assert.Equal(["H", "T:after " + point], log.Snapshot());
    }

    [Fact]
    public async Task PreemptionPoint_SecondAfterForeignAwait_SwitchesToWaitingHigherPriority()
    {
        await using var rt = Rt.Start(cpus: 1);
        var log = new EventLog();
        RtTask? h = null;
        var t = rt.Spawn("T", 10, async ctx =>
        {
            await Task.Delay(1);
            await ctx.PreemptionPoint();
            h = rt.Spawn("H", 50, _ =>
            {
                log.Add("H");
                return ValueTask.CompletedTask;
            });
            await ctx.PreemptionPoint();
            log.Add("T:after point");
        });
        await t.WithTimeout();
        await h!.WithTimeout();

        Assert.Equal(["H", "T:after point"], log.Snapshot());
    }
}
