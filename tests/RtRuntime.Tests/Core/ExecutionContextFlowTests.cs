using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// A task's body runs under its spawner's ExecutionContext, as <see cref="Task.Run(Action)"/>'s does: the
/// AsyncLocal values of the code that spawned it (an Activity, a logging scope), not those of whoever
/// started the runtime, and they follow the body across its awaits. A spawner with none set gives the
/// body none, whatever an earlier task's synchronous body or a posted callback left on the CPU thread.
/// Each test fails when the CPU threads carry the starter's context instead, or keep what a step left.
/// </summary>
public class ExecutionContextFlowTests
{
    private static readonly AsyncLocal<string?> Ambient = new();

    // Spawns from a thread started without an ExecutionContext: no AsyncLocal values at all. (Not by
    // awaiting inside a SuppressFlow scope: its Undo must run on the thread that suppressed.)
    private static RtTask<T> SpawnFromCleanThread<T>(RtScheduler rt, string name, Func<TaskContext, ValueTask<T>> body)
    {
        RtTask<T>? task = null;
        var thread = new Thread(() => task = rt.Spawn(name, 10, body));
        thread.UnsafeStart();
        Assert.True(thread.Join(Rt.Hang), "the spawning thread hangs");
        return task!;
    }

    [Fact]
    public async Task Spawn_FlowsTheSpawnersAsyncLocals_NotTheStarters_AcrossAwaits()
    {
        Ambient.Value = "starter";
        await using var rt = Rt.Start(cpus: 1);
        Ambient.Value = "spawner";
        var release = new RtEvent();
        RtTask<(string?, string?, string?)> t = rt.Spawn<(string?, string?, string?)>("flows", 10, async ctx =>
        {
            string? first = Ambient.Value;
            await ctx.Yield();
            string? afterYield = Ambient.Value;
            await release.WaitAsync(ctx);
            return (first, afterYield, Ambient.Value);
        });
        Ambient.Value = "changed after the spawn";
        await Rt.Until(() => t.State == RtTaskState.Blocked, "the task blocks on the event");
        release.Set();

        Assert.Equal(("spawner", "spawner", "spawner"), await t.WithTimeout());
    }

    [Fact]
    public async Task RunAsync_FlowsTheSpawnersAsyncLocals()
    {
        Ambient.Value = "starter";
        await using var rt = Rt.Start(cpus: 1);
        Ambient.Value = "spawner";
        string? seen = "not run";
        await rt.RunAsync("flows", 10, ctx =>
        {
            seen = Ambient.Value;
            return ValueTask.CompletedTask;
        }).AsTask().WithTimeout();

        Assert.Equal("spawner", seen);
    }

    [Fact]
    public async Task Spawn_FromAContextWithNoneSet_SeesNone_NotTheStarters()
    {
        Ambient.Value = "starter";
        await using var rt = Rt.Start(cpus: 1);
        RtTask<string?> t = SpawnFromCleanThread<string?>(rt, "clean", ctx => ValueTask.FromResult<string?>(Ambient.Value));

        Assert.Null(await t.WithTimeout());
    }

    [Fact]
    public async Task ChildSpawnedInsideATask_InheritsTheParentsValues()
    {
        await using var rt = Rt.Start(cpus: 1);
        Ambient.Value = null;
        RtTask<string?> parent = rt.Spawn<string?>("parent", 10, async ctx =>
        {
            Ambient.Value = "parent";
            RtTask<string?> child = rt.Spawn<string?>("child", 10, c => ValueTask.FromResult<string?>(Ambient.Value));
            return await child;
        });

        Assert.Equal("parent", await parent.WithTimeout());
    }

    [Fact]
    public async Task SyncBodySettingAsyncLocal_DoesNotLeakIntoTheNextTask()
    {
        // A synchronous body (not an async method, whose builder restores the context) leaves its
        // AsyncLocal on the CPU thread unless the runtime resets it after the step.
        await using var rt = Rt.Start(cpus: 1);
        await SpawnFromCleanThread<string?>(rt, "leaker", ctx =>
        {
            Ambient.Value = "leaked";
            return ValueTask.FromResult<string?>(null);
        }).WithTimeout();

        RtTask<string?> clean = SpawnFromCleanThread<string?>(rt, "clean", ctx => ValueTask.FromResult<string?>(Ambient.Value));
        Assert.Null(await clean.WithTimeout());
    }

    [Fact]
    public async Task SyncBodySettingAsyncLocal_DoesNotLeakIntoAChildOfALaterTask()
    {
        // A child captures the context current in its parent's step: a leaked one would spread through spawns.
        await using var rt = Rt.Start(cpus: 1);
        await SpawnFromCleanThread<int>(rt, "leaker", ctx =>
        {
            Ambient.Value = "leaked";
            return ValueTask.FromResult(0);
        }).WithTimeout();

        RtTask<string?> parent = SpawnFromCleanThread<string?>(rt, "parent", async ctx =>
        {
            await ctx.Yield();
            RtTask<string?> child = rt.Spawn<string?>("child", 10, c => ValueTask.FromResult<string?>(Ambient.Value));
            return await child;
        });
        Assert.Null(await parent.WithTimeout());
    }

    [Fact]
    public async Task FlowSuppressedAndNeverRestoredByABody_DoesNotKeepAFlowedContextOnTheCpu()
    {
        // With the CPU thread's flow suppressed, Capture() returns null: a restore of "what was there"
        // would leave the next flowed spawner's values behind for every later task.
        await using var rt = Rt.Start(cpus: 1);
        await SpawnFromCleanThread<int>(rt, "suppresser", ctx =>
        {
            _ = ExecutionContext.SuppressFlow(); // a misuse (never undone), but user code may do it
            return ValueTask.FromResult(0);
        }).WithTimeout();

        string? seenByFlowed = null;
        var thread = new Thread(() =>
        {
            Ambient.Value = "spawner";
            RtTask<string?> flowed = rt.Spawn<string?>("flowed", 10, ctx => ValueTask.FromResult<string?>(Ambient.Value));
            seenByFlowed = flowed.AsTask().WaitAsync(Rt.Hang).GetAwaiter().GetResult();
        });
        thread.UnsafeStart();
        Assert.True(thread.Join(Rt.Hang), "the spawning thread hangs");
        Assert.Equal("spawner", seenByFlowed);

        RtTask<string?> clean = SpawnFromCleanThread<string?>(rt, "clean", ctx => ValueTask.FromResult<string?>(Ambient.Value));
        Assert.Null(await clean.WithTimeout());
    }

    [Fact]
    public async Task PostedCallbackSettingAsyncLocal_DoesNotLeakIntoTheNextTask()
    {
        // Work posted to a task runs raw in its step (RunPosted); what it sets is reset after it.
        await using var rt = Rt.Start(cpus: 1);
        var release = new RtEvent();
        RtTask waiter = rt.Spawn("waiter", 10, async ctx => await release.WaitAsync(ctx));
        await Rt.Until(() => waiter.State == RtTaskState.Blocked, "the task blocks on the event");
        var posted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        waiter.Post(_ =>
        {
            Ambient.Value = "posted";
            posted.TrySetResult();
        }, null);
        await posted.Task.WithTimeout();
        release.Set();
        await waiter.WithTimeout();

        RtTask<string?> clean = SpawnFromCleanThread<string?>(rt, "clean", ctx => ValueTask.FromResult<string?>(Ambient.Value));
        Assert.Null(await clean.WithTimeout());
    }

    private static readonly AsyncLocal<object?> Payload = new();

    [Fact]
    public async Task Spawn_CancelledBeforeItStarts_DoesNotKeepTheSpawnersContext()
    {
        await using var rt = Rt.Start(cpus: 1);
        (RtTask task, WeakReference payload) = SpawnCancelledUnder(rt);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task.AsTask().WithTimeout());

        FullGc();
        Assert.Equal(RtTaskState.Cancelled, task.State); // the handle is alive; what its spawner's context held is not
        Assert.False(payload.IsAlive, "the cancelled task's handle keeps its spawner's ExecutionContext (and its AsyncLocal values) alive");
    }

    /// <summary>
    /// The stop ends a task still waiting to start (its CPU held by a task that never reaches a
    /// preemption point, past the cancel grace): EndAtStop ended it as cancelled and kept the spawner's
    /// context, which CancelUnstarted drops, for as long as the handle lived (review helper-166).
    /// </summary>
    [Fact]
    public async Task Spawn_EndedByTheStopBeforeItStarts_DoesNotKeepTheSpawnersContext()
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        using var release = new ManualResetEventSlim();
        RtTask spinner = await Rt.SpawnStuckAsync(rt, release); // holds the only CPU
        (RtTask task, WeakReference payload) = SpawnUnder(rt, default); // queued behind the spinner
        try
        {
            await rt.StopAsync(TimeSpan.Zero, TimeSpan.FromMilliseconds(50)).WithTimeout();
        }
        finally
        {
            release.Set();
        }

        await spinner.WithTimeout();
        Assert.Equal(RtTaskState.Cancelled, task.State);
        Assert.Contains("waiting to start", task.Exception!.Message, StringComparison.Ordinal); // EndAtStop's, not CancelUnstarted's

        FullGc();
        Assert.False(payload.IsAlive, "the task the stop ended unstarted keeps its spawner's ExecutionContext (and its AsyncLocal values) alive");
        GC.KeepAlive(task); // the handle is alive; what its spawner's context held is not
    }

    /// <summary>
    /// Work posted to a task still waiting to start runs first, in its first step, before the body
    /// starts: when it throws, the task faults unstarted (FaultFromStep), and kept the spawner's context
    /// as EndAtStop did (review helper-166).
    /// </summary>
    [Fact]
    public async Task Spawn_FaultedByWorkPostedBeforeItStarts_DoesNotKeepTheSpawnersContext()
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        using var release = new ManualResetEventSlim();
        RtTask spinner = await Rt.SpawnStuckAsync(rt, release); // holds the only CPU
        (RtTask task, WeakReference payload) = SpawnUnder(rt, default); // queued behind the spinner
        task.Post(_ => throw new InvalidOperationException("posted before the start"), null);
        release.Set();

        await Assert.ThrowsAsync<InvalidOperationException>(() => task.AsTask().WithTimeout());
        await spinner.WithTimeout();

        FullGc();
        Assert.False(payload.IsAlive, "the task faulted before it started keeps its spawner's ExecutionContext (and its AsyncLocal values) alive");
        GC.KeepAlive(task);
    }

    private static void FullGc()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    // Spawns under an AsyncLocal holding a fresh object, with a token already cancelled, and leaves
    // this thread's context without it: only the task could keep that context alive.
    private static (RtTask Task, WeakReference Payload) SpawnCancelledUnder(RtScheduler rt) =>
        SpawnUnder(rt, new CancellationToken(canceled: true));

    // Spawns under an AsyncLocal holding a fresh object, and leaves this thread's context without it:
    // only the task could keep that context alive. Not inlined, so that no local of the test keeps it.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static (RtTask Task, WeakReference Payload) SpawnUnder(RtScheduler rt, CancellationToken cancellationToken)
    {
        var payload = new object();
        Payload.Value = payload;
        RtTask task = rt.Spawn("never runs", 10, static _ => ValueTask.CompletedTask, cancellationToken: cancellationToken);
        Payload.Value = null;
        return (task, new WeakReference(payload));
    }

    /// <summary>
    /// A step that runs a raw continuation (an Action handed to a runtime awaiter by hand, not an
    /// async method's, whose MoveNext restores the context it found) may leave an AsyncLocal on the CPU
    /// thread. The body's start and raw posts reset the thread's ExecutionContext after them; the
    /// continuation step did not, so the next task started on that CPU (spawned from a thread with
    /// nothing to flow: here the next RunAsync, which may be the same object's next life) saw it.
    /// </summary>
    [Fact]
    public async Task ARawContinuationsAsyncLocal_DoesNotReachTheNextTaskOnTheCpu()
    {
        await using var rt = Rt.Start(cpus: 1);
        ValueTask first = rt.RunAsync("raw", 10, ctx =>
        {
            var done = new TaskCompletionSource();
            ctx.Yield().GetAwaiter().UnsafeOnCompleted(() =>
            {
                Ambient.Value = "leaked";
                done.SetResult();
            });
            return new ValueTask(done.Task);
        });
        await first.AsTask().WithTimeout();

        string? seen = "unset";
        ValueTask next;
        using (ExecutionContext.SuppressFlow())
        {
            next = rt.RunAsync("next", 10, ctx =>
            {
                seen = Ambient.Value;
                return ValueTask.CompletedTask;
            });
        }

        await next.AsTask().WithTimeout();
        Assert.Null(seen);
    }

    /// <summary>
    /// A hotplug callback runs on the CPU's thread between tasks (user code, like a synchronous body): an
    /// AsyncLocal it sets must not reach the next task started there by a spawner with nothing to flow.
    /// </summary>
    [Fact]
    public async Task AHotplugCallbacksAsyncLocal_DoesNotReachTheNextTaskOnThatCpu()
    {
        await using var rt = Rt.Start(cpus: 2);
        using var step = rt.RegisterHotplugNoCalls(new RtRuntime.Hotplug.HotplugCallback("sets-a-local", cpu => Ambient.Value = "hotplug", null));
        await rt.OfflineAsync(1).WithTimeout();
        await rt.OnlineAsync(1).WithTimeout(); // the online step runs on cpu1's thread

        RtTask<string?>? task = null;
        var thread = new Thread(() => task = rt.Spawn<string?>("clean", 10, ctx => ValueTask.FromResult<string?>(Ambient.Value), affinity: RtRuntime.Cpus.CpuSet.Of(1)));
        thread.UnsafeStart();
        Assert.True(thread.Join(Rt.Hang), "the spawning thread hangs");

        Assert.Null(await task!.WithTimeout());
    }
}
