using System.Reflection;
using System.Threading.Tasks.Sources;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// <see cref="RtScheduler.RunAsync"/> and the task cache behind it: a task that ended well without
/// blocking is reused by a later spawn, starting its new life exactly as a fresh task does; a task
/// that faulted, was cancelled or blocked is never reused; a completion of an earlier life still
/// reads as completed; a warm cache makes a spawn allocate nothing.
/// </summary>
public class TaskCacheTests
{
    [Fact]
    public async Task RunAsync_RunsTheBodyAsATask_AndItsValueTaskCompletesWhenTheTaskEnds()
    {
        await using var rt = Rt.Start(cpus: 2);
        var gate = new RtEvent();
        int ranOnCpu = -1;
        ValueTask run = rt.RunAsync("waits", 20, async ctx =>
        {
            ranOnCpu = ctx.RawCpuId;
            await gate.WaitAsync(ctx);
        });

        await Rt.Until(() => ranOnCpu >= 0, "the body running on a CPU");
        Assert.False(run.IsCompleted); // blocked on the event
        gate.Set();
        await run.AsTask().WithTimeout();
        Assert.InRange(ranOnCpu, 0, 1);
    }

    [Fact]
    public async Task ATaskThatEndedWell_IsReusedByALaterRunAsync_WithANewId()
    {
        await using var rt = Rt.Start(cpus: 1);
        (RtTask first, long firstId) = await LifeAsync(rt);
        for (int i = 0; i < 1000; i++)
        {
            (RtTask task, long id) = await LifeAsync(rt);
            if (ReferenceEquals(task, first))
            {
                Assert.NotEqual(firstId, id);
                return;
            }
        }

        Assert.Fail("1,000 lives after the first, none reused its task object.");
    }

    [Fact]
    public async Task AReusedTaskObject_StartsItsLifeInTheStateOfAFreshOne()
    {
        await using var rt = Rt.Start(cpus: 1);
        CpuSet only0 = CpuSet.Of(0);

        // A fresh object's state at the start of its body.
        Dictionary<string, object?>? fresh = null;
        RtTask? freshTask = null;
        await RunAndIdle(rt, rt.RunAsync("probe", 7, ctx =>
        {
            freshTask = ctx.Task;
            fresh = Fields(ctx.Task);
            return ValueTask.CompletedTask;
        }, SchedPolicy.RoundRobin, only0));

        // Lives that leave marks (other identity, yields, guards, a nested guard left open at the end)
        // until one of them runs on the probe's object, then the probe's spawn again on that object.
        for (int attempt = 0; attempt < 1000; attempt++)
        {
            RtTask? dirty = null;
            await RunAndIdle(rt, rt.RunAsync("dirty", 30, async ctx =>
            {
                dirty = ctx.Task;
                for (int i = 0; i < 3; i++)
                {
                    await ctx.Yield();
                }

                using (ctx.PreemptDisable())
                {
                    using (ctx.MigrateDisable())
                    {
                        _ = ctx.CpuId;
                    }
                }
            }));

            if (!ReferenceEquals(dirty, freshTask))
            {
                continue;
            }

            Dictionary<string, object?>? reused = null;
            await RunAndIdle(rt, rt.RunAsync("probe", 7, ctx =>
            {
                if (ReferenceEquals(ctx.Task, freshTask))
                {
                    reused = Fields(ctx.Task);
                }

                return ValueTask.CompletedTask;
            }, SchedPolicy.RoundRobin, only0));

            if (reused is null)
            {
                continue; // the probe got another object this time
            }

            foreach ((string name, object? value) in fresh!)
            {
                if (name is "<Id>k__BackingField" or "_life" or "GuardSerial")
                {
                    Assert.NotEqual(value, reused[name]); // a new id, a new life, guard tokens that go on counting
                }
                else
                {
                    Assert.True(Equals(value, reused[name]), $"field {name}: fresh {value ?? "null"}, reused {reused[name] ?? "null"}");
                }
            }

            return;
        }

        Assert.Fail("No dirty life ran on the probe's object in 1,000 attempts.");
    }

    [Fact]
    public async Task ATaskThatFaulted_IsNeverReused_AndItsValueTaskKeepsTheFault()
    {
        await using var rt = Rt.Start(cpus: 1);
        RtTask? faulted = null;
        ValueTask failing = rt.RunAsync("throws", 10, ctx =>
        {
            faulted = ctx.Task;
            throw new InvalidOperationException("boom");
        });
        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(() => failing.AsTask().WithTimeout());
        Assert.Equal("boom", thrown.Message);

        await AssertNeverReused(rt, faulted!);
    }

    [Fact]
    public async Task ATaskThatWasCancelled_IsNeverReused_AndItsValueTaskEndsCanceled()
    {
        await using var rt = Rt.Start(cpus: 1);
        using var cts = new CancellationTokenSource();
        RtTask? cancelled = null;
        ValueTask run = rt.RunAsync("loops", 10, async ctx =>
        {
            cancelled = ctx.Task;
            while (true)
            {
                await ctx.PreemptionPoint();
            }
        }, cancellationToken: cts.Token);
        await Rt.Until(() => cancelled is not null, "the task running");
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.AsTask().WithTimeout());

        await AssertNeverReused(rt, cancelled!);
    }

    [Fact]
    public async Task ATaskThatBlocked_IsNeverReused()
    {
        await using var rt = Rt.Start(cpus: 1);
        var ev = new RtEvent();
        RtTask? blocked = null;
        ValueTask run = rt.RunAsync("waits", 10, async ctx =>
        {
            blocked = ctx.Task;
            await ev.WaitAsync(ctx);
        });
        await Rt.Until(() => blocked is { State: RtTaskState.Blocked }, "the task blocked");
        ev.Set();
        await run.AsTask().WithTimeout();

        await AssertNeverReused(rt, blocked!);
    }

    [Fact]
    public async Task ACompletionOfAnEarlierLife_ReadsSucceeded_WhileItsObjectRunsALaterLife()
    {
        await using var rt = Rt.Start(cpus: 1);
        RtTask? first = null;
        ValueTask earlier = rt.RunAsync("first", 10, ctx =>
        {
            first = ctx.Task;
            return ValueTask.CompletedTask;
        });
        await Rt.Until(() => first is { IsCompleted: true } && rt.Cpus[0].IsIdle, "the first life ended and its CPU idle");

        var hold = new RtEvent();
        ValueTask later = await LaterLife.BlockedOnTheSameObjectAsync(rt, first!, hold);
        Assert.False(later.IsCompleted);
        Assert.True(earlier.IsCompletedSuccessfully);
        await earlier; // at once: the earlier life completed
        hold.Set();
        await later.AsTask().WithTimeout();
    }

    [Theory]
    [InlineData(1, PinningMode.Pinned)]
    [InlineData(2, PinningMode.Pinned)]
    [InlineData(2, PinningMode.Unpinned)]
    public async Task AWarmCache_MakesRunAsyncAllocateNothingPerTask(int cpus, PinningMode pinning)
    {
        await using var rt = Rt.Start(cpus: cpus, pinning: pinning);
        int done = 0;
        Func<TaskContext, ValueTask> body = _ =>
        {
            Interlocked.Increment(ref done);
            return ValueTask.CompletedTask;
        };

        // Waves of 16 from one thread (its own batches, so LongRunning), each run to the end and the CPUs idle (their
        // free lists pushed) before the next: the first waves fill the cache, the measured ones reuse it.
        const int Wave = 16, WarmWaves = 20, Waves = 200;
        long bytes = 0;
        Task spawner = Task.Factory.StartNew(() =>
        {
            long start = 0;
            for (int w = 0; w < WarmWaves + Waves; w++)
            {
                if (w == WarmWaves)
                {
                    start = GC.GetAllocatedBytesForCurrentThread();
                }

                int target = Volatile.Read(ref done) + Wave;
                for (int i = 0; i < Wave; i++)
                {
                    rt.RunAsync(null, 10, body).Forget(); // as perf/compare's burst: the body's counter says when they ran
                }

                var spin = default(SpinWait);
                while (Volatile.Read(ref done) < target || !AllIdle(rt))
                {
                    spin.SpinOnce(-1);
                }
            }

            bytes = GC.GetAllocatedBytesForCurrentThread() - start;
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default); // a thread of its own
        await spawner.WithTimeout();

        double perTask = bytes / (double)(Wave * Waves);
        Assert.True(perTask < 8, $"{perTask:F1} bytes allocated per RunAsync with a warm cache (a task object is 232)");
    }

    [Fact]
    public async Task WithNoCache_RunAsyncStillRuns_AndEveryTaskIsANewObject()
    {
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.TaskCacheCapacity = 0;
        });
        var seen = new List<RtTask>();
        for (int i = 0; i < 100; i++)
        {
            (RtTask task, _) = await LifeAsync(rt);
            Assert.DoesNotContain(seen, t => ReferenceEquals(t, task));
            seen.Add(task);
        }

        Assert.Equal(0, rt.TasksRetired); // none counted as retired either
    }

    [Fact]
    public async Task ARunAsyncBody_GoesOnOutsideItsTaskAfterAForeignAwait_AndItsContextThenThrowsSayingSo()
    {
        await using var rt = Rt.Start(cpus: 1);
        SynchronizationContext? before = null, after = null;
        ValueTask quiet = rt.RunAsync("quiet", 10, async ctx =>
        {
            before = SynchronizationContext.Current;
            await Task.Delay(1);
            after = SynchronizationContext.Current; // on a runasync/posted task, still under the RunAsync context
        });
        await quiet.AsTask().WithTimeout(); // it ends well: it did not touch its context after the await
        Assert.NotNull(before);
        Assert.IsNotAssignableFrom<RtTask>(before); // the RunAsync context, not its task
        Assert.Same(before, after);

        ValueTask usesContext = rt.RunAsync("uses-context", 10, async ctx =>
        {
            await Task.Delay(1);
            await ctx.Yield();
        });
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => usesContext.AsTask().WithTimeout());
        Assert.Contains("RunAsync body goes on outside its task after a foreign await", e.Message, StringComparison.Ordinal);
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task RunAsync_AfterStop_IsRefused()
    {
        var rt = Rt.Start(cpus: 1);
        await rt.DisposeAsync();
        var e = Assert.Throws<InvalidOperationException>(() => rt.RunAsync("late", 10, _ => ValueTask.CompletedTask).Forget());
        Assert.Contains("late", e.Message);
    }

    [Fact]
    public async Task TheValueTaskSource_GivesAnAnswerForAnyToken_AndNeverThrowsOnARightOne()
    {
        await using var rt = Rt.Start(cpus: 1);
        RtTask? task = null;
        ValueTask run = rt.RunAsync("t", 10, ctx =>
        {
            task = ctx.Task;
            return ValueTask.CompletedTask;
        });
        await run;
        var source = Assert.IsAssignableFrom<IValueTaskSource>(task);
        for (short token = -3; token < 3; token++)
        {
            Assert.Equal(ValueTaskSourceStatus.Succeeded, source.GetStatus(token)); // ended well: every life reads as completed
#pragma warning disable xUnit1031 // not a blocking wait: IValueTaskSource.GetResult of a completed source
            source.GetResult(token); // returns: no exception for any of them
#pragma warning restore xUnit1031
        }
    }

    /// <summary>One life of a pooled task: its object and id, after it ended and its CPU went idle (its free list pushed).</summary>
    private static async Task<(RtTask Task, long Id)> LifeAsync(RtScheduler rt)
    {
        RtTask? task = null;
        long id = 0;
        await RunAndIdle(rt, rt.RunAsync(null, 10, ctx =>
        {
            task = ctx.Task;
            id = ctx.Task.Id;
            return ValueTask.CompletedTask;
        }));
        return (task!, id);
    }

    // Waits for the end without registering a continuation (none on the task's waiter list while the
    // body runs, so that a snapshot of its fields does not depend on when the test thread got there).
    private static async Task RunAndIdle(RtScheduler rt, ValueTask run)
    {
        await Rt.Until(() => run.IsCompleted, "the task ended");
        await run;
        await Rt.Until(() => AllIdle(rt), "the CPUs idle");
    }

    private static bool AllIdle(RtScheduler rt)
    {
        foreach (Cpu cpu in rt.Cpus)
        {
            if (!cpu.IsIdle)
            {
                return false;
            }
        }

        return true;
    }

    private static async Task AssertNeverReused(RtScheduler rt, RtTask ended)
    {
        for (int i = 0; i < 200; i++)
        {
            (RtTask task, _) = await LifeAsync(rt);
            Assert.False(ReferenceEquals(task, ended), $"life {i} reused the object of a task that ended {ended.State}");
        }

        Assert.True(ended.IsCompleted);
    }

    /// <summary>Every instance field of the task object (RtTask's own and those of its subclass), by name.</summary>
    private static Dictionary<string, object?> Fields(RtTask task)
    {
        var fields = new Dictionary<string, object?>();
        for (Type? type = task.GetType(); type is not null && type != typeof(SynchronizationContext); type = type.BaseType)
        {
            foreach (FieldInfo field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                object? value = field.GetValue(task);
                fields[field.Name] = field.Name == "Gate" ? (int)value! & (RtTask.GateCancel | RtTask.GateStrict) : value; // the rest of the gate is the CPU's pending work, copied at switch-in
            }
        }

        return fields;
    }
}
