using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>preempt_disable/preempt_enable: scenarios 28 (nesting), 29 (no spurious switch), 30 (underflow).</summary>
public class PreemptGuardTests
{
    [Fact]
    public async Task AwaitUsingPreemptDisable_HigherPriorityWokenAtDepth2_SwitchesExactlyAtOutermostEnable()
    {
        // Scenario 28: need_resched is set but T's preemption points do not switch; 2→1 does not
        // switch; 1→0 switches to H immediately.
        await using var rt = Rt.Start(cpus: 1);
        var log = new EventLog();
        RtTask? h = null;
        var t = rt.Spawn("T", 10, async ctx =>
        {
            await using (ctx.PreemptDisable())
            {
                await using (ctx.PreemptDisable())
                {
                    h = rt.Spawn("H", 50, hctx =>
                    {
                        log.Add("H:run");
                        return ValueTask.CompletedTask;
                    });
                    log.Add("T:woke H at depth " + ctx.PreemptDepth);
                    for (int i = 0; i < 100; i++)
                    {
                        await ctx.PreemptionPoint();
                    }

                    log.Add("T:100 points at depth " + ctx.PreemptDepth);
                }

                log.Add("T:enabled to depth " + ctx.PreemptDepth);
                await ctx.PreemptionPoint();
                log.Add("T:point at depth " + ctx.PreemptDepth);
            }

            log.Add("T:resumed at depth " + ctx.PreemptDepth);
        });
        await t.WithTimeout();
        await h!.WithTimeout();

        Assert.Equal(
            ["T:woke H at depth 2", "T:100 points at depth 2", "T:enabled to depth 1", "T:point at depth 1", "H:run", "T:resumed at depth 0"],
            log.Snapshot());
        Assert.Equal(1, t.Preemptions);
        Assert.Equal(0, t.PreemptDepth);
    }

    [Fact]
    public async Task AwaitUsingPreemptDisable_HigherPrioritySpawnedFromOtherThread_HeldOffUntilOutermostEnable()
    {
        // Scenario 28 with a remote wakeup: the test thread spawns H while T is preempt-disabled.
        await using var rt = Rt.Start(cpus: 1);
        var log = new EventLog();
        var disabled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var hSpawned = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var t = rt.Spawn("T", 10, async ctx =>
        {
            await using (ctx.PreemptDisable())
            {
                await using (ctx.PreemptDisable())
                {
                    disabled.SetResult();
                    await ctx.SpinUntil(() => hSpawned.Task.IsCompleted, "H spawned");
                    for (int i = 0; i < 100; i++)
                    {
                        await ctx.PreemptionPoint();
                    }

                    log.Add("T:depth 2 done");
                }

                await ctx.PreemptionPoint();
                log.Add("T:depth 1 done");
            }

            log.Add("T:resumed");
        });
        await disabled.Task.WithTimeout();
        var h = rt.Spawn("H", 50, _ =>
        {
            log.Add("H:run");
            return ValueTask.CompletedTask;
        });
        Assert.Equal(RtTaskState.Runnable, h.State);
        hSpawned.SetResult();
        await new[] { t, h }.AllWithTimeout();

        Assert.Equal(["T:depth 2 done", "T:depth 1 done", "H:run", "T:resumed"], log.Snapshot());
        Assert.Equal(1, t.Preemptions);
    }

    [Fact]
    public async Task UsingPreemptDisable_HigherPriorityWaiting_SwitchDeferredToNextPreemptionPoint()
    {
        // A plain (synchronous) Dispose is preempt_enable_no_resched: the switch waits for the next point.
        await using var rt = Rt.Start(cpus: 1);
        var log = new EventLog();
        RtTask? h = null;
        var t = rt.Spawn("T", 10, async ctx =>
        {
            using (ctx.PreemptDisable())
            {
                h = rt.Spawn("H", 50, _ =>
                {
                    log.Add("H:run");
                    return ValueTask.CompletedTask;
                });
                await ctx.PreemptionPoint();
                log.Add("T:in section");
            }

            log.Add("T:enabled at depth " + ctx.PreemptDepth);
            await ctx.PreemptionPoint();
            log.Add("T:after point");
        });
        await t.WithTimeout();
        await h!.WithTimeout();

        Assert.Equal(["T:in section", "T:enabled at depth 0", "H:run", "T:after point"], log.Snapshot());
        Assert.Equal(1, t.Preemptions);
    }

    [Fact]
    public async Task PreemptDisable_NestedDepths_ReportedByContextAndHandle()
    {
        await using var rt = Rt.Start(cpus: 1);
        var t = rt.Spawn<int[]>("T", 10, async ctx =>
        {
            var depths = new List<int> { ctx.PreemptDepth };
            await using (ctx.PreemptDisable())
            {
                depths.Add(ctx.PreemptDepth);
                using (ctx.PreemptDisable())
                {
                    depths.Add(ctx.PreemptDepth);
                    depths.Add(ctx.Task.PreemptDepth);
                    Assert.False(ctx.IsPreemptible);
                    Assert.Equal(0, ctx.MigrateDisableDepth);
                }

                depths.Add(ctx.PreemptDepth);
            }

            depths.Add(ctx.PreemptDepth);
            Assert.True(ctx.IsPreemptible);
            return depths.ToArray();
        });

        int[] observed = await t.WithTimeout();
        Assert.Equal([0, 1, 2, 2, 1, 0], observed);
    }

    [Fact]
    public async Task AwaitUsingPreemptDisable_NoReschedPending_DisposeCompletesSynchronouslyWithoutSwitch()
    {
        // Scenario 29: depth 1, nothing pending; preempt_enable does not switch. A queued lower-priority
        // task does not make a switch pending either.
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.StallThreshold = Rt.NoStallProbe; // nothing may be pending but what the test causes
        });
        var log = new EventLog();
        RtTask? low = null;
        var t = rt.Spawn<bool[]>("T", 50, async ctx =>
        {
            var synchronous = new List<bool>();
            var g = ctx.PreemptDisable();
#pragma warning disable CA2012 // inspected once, then awaited once
            ValueTask first = g.DisposeAsync();
#pragma warning restore CA2012
            synchronous.Add(first.IsCompleted);
            await first;

            low = rt.Spawn("low", 10, _ =>
            {
                log.Add("low");
                return ValueTask.CompletedTask;
            });
            g = ctx.PreemptDisable();
#pragma warning disable CA2012 // inspected once, then awaited once
            ValueTask enable = g.DisposeAsync();
#pragma warning restore CA2012
            synchronous.Add(enable.IsCompleted);
            await enable;
            await ctx.PreemptionPoint();
            log.Add("T:end");
            return synchronous.ToArray();
        });

        bool[] synchronous = await t.WithTimeout();
        Assert.Equal([true, true], synchronous);
        await low!.WithTimeout();
        Assert.Equal(["T:end", "low"], log.Snapshot());
        Assert.Equal(0, t.Preemptions);
        Assert.Equal(1, t.Switches);
    }

    [Fact]
    public async Task PreemptGuardDispose_Twice_ThrowsAndDepthStaysZero()
    {
        // Scenario 30: preempt_enable at depth 0 is refused (the kernel warns and leaves the depth at 0).
        await using var rt = Rt.Start(cpus: 1);
        var t = rt.Spawn<(string Message, int Depth)>("T", 10, ctx =>
        {
            var g = ctx.PreemptDisable();
            g.Dispose();
            var e = Assert.Throws<InvalidOperationException>(() => g.Dispose());
            return ValueTask.FromResult((e.Message, ctx.PreemptDepth));
        });

        (string message, int depth) = await t.WithTimeout();
        Assert.Equal(0, depth);
        Assert.Contains("preempt_enable underflow or out of order", message, StringComparison.Ordinal);
        Assert.Contains("'T'", message, StringComparison.Ordinal);
        Assert.Contains("not the innermost live one (depth is 0)", message, StringComparison.Ordinal);
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task PreemptGuardDisposeAsync_Twice_ThrowsAndDepthStaysZero()
    {
        await using var rt = Rt.Start(cpus: 1);
        var t = rt.SpawnCatching("T", 10, async ctx =>
        {
            var g = ctx.PreemptDisable();
            await g.DisposeAsync();
            try
            {
                await g.DisposeAsync();
            }
            finally
            {
                Assert.Equal(0, ctx.PreemptDepth);
            }
        });

        var e = Assert.IsType<InvalidOperationException>(await t.WithTimeout());
        Assert.Contains("underflow or out of order", e.Message, StringComparison.Ordinal);
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task PreemptGuardDispose_OutOfOrder_ThrowsAndLeavesDepthUnchanged()
    {
        await using var rt = Rt.Start(cpus: 1);
        var t = rt.Spawn<(string Message, int DepthAfterThrow, int DepthAtEnd)>("T", 10, ctx =>
        {
            var outer = ctx.PreemptDisable();
            var inner = ctx.PreemptDisable();
            var e = Assert.Throws<InvalidOperationException>(() => outer.Dispose());
            int after = ctx.PreemptDepth;
            inner.Dispose();
            outer.Dispose();
            return ValueTask.FromResult((e.Message, after, ctx.PreemptDepth));
        });

        (string message, int afterThrow, int atEnd) = await t.WithTimeout();
        Assert.Contains("not the innermost live one (depth is 2)", message, StringComparison.Ordinal);
        Assert.Equal(2, afterThrow);
        Assert.Equal(0, atEnd);
    }

    [Fact]
    public async Task PreemptGuardDispose_TwiceAfterNewGuardAtSameDepth_ThrowsAndKeepsNewSection()
    {
        await using var rt = Rt.Start(cpus: 1);
        var t = rt.Spawn<(Exception? Error, int Depth)>("T", 10, ctx =>
        {
            var first = ctx.PreemptDisable();
            first.Dispose();
            var second = ctx.PreemptDisable();
            Exception? error = Record.Exception(() => first.Dispose()); // second dispose of `first`
            int depth = ctx.PreemptDepth;
            if (depth == 1)
            {
                second.Dispose();
            }

            return ValueTask.FromResult<(Exception? Error, int Depth)>((error, depth));
        });

        (Exception? error, int depth) = await t.WithTimeout();
        Assert.IsType<InvalidOperationException>(error);
        Assert.Equal(1, depth); // `second` still holds its section
    }

    [Fact]
    public async Task PreemptDisable_BeyondMaxDepth_ThrowsOverflowNamingLimit()
    {
        await using var rt = Rt.Start(cpus: 1);
        var t = rt.Spawn<(string Message, int Depth)>("T", 10, ctx =>
        {
            var guards = new Stack<PreemptGuard>();
            for (int i = 0; i < PreemptGuard.MaxDepth; i++)
            {
                guards.Push(ctx.PreemptDisable());
            }

            var e = Assert.Throws<InvalidOperationException>(() => ctx.PreemptDisable());
            int depth = ctx.PreemptDepth;
            while (guards.Count > 0)
            {
                guards.Pop().Dispose();
            }

            return ValueTask.FromResult((e.Message, depth));
        });

        (string message, int depth) = await t.WithTimeout();
        Assert.Equal(255, depth);
        Assert.Contains("overflow", message, StringComparison.Ordinal);
        Assert.Contains("255", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PreemptDisabledPoints_FireDueTimers_ButSwitchOnlyAfterTheSection()
    {
        // preempt_disable does not mask the hrtimer interrupt: the sleeper's timer fires at a point
        // inside the section (the sleeper becomes runnable there), and it runs once the section ends.
        // The sleep must outlast the time the section takes to start: if the OS delays that, the
        // attempt proves nothing and runs again with a longer sleep.
        for (int attempt = 0, sleepMs = 20; attempt < 6; attempt++, sleepMs *= 2)
        {
            await using var rt = Rt.Start(cpus: 1);
            var go = new RtEvent();
            var sleeper = rt.Spawn<int>("sleeper", 90, async ctx =>
            {
                await ctx.Sleep(TimeSpan.FromMilliseconds(sleepMs));
                return ctx.RawCpuId;
            });
            var low = rt.Spawn<(bool Started, RtTaskState Seen, bool RanAfter)>("low", 10, async ctx =>
            {
                await go.WaitAsync(ctx);
                RtTaskState seen;
                using (ctx.PreemptDisable())
                {
                    if (sleeper.State != RtTaskState.Blocked)
                    {
                        return (false, sleeper.State, false);
                    }

                    long deadline = RtClock.NowNs() + RtClock.ToNs(Rt.Hang);
                    while (sleeper.State == RtTaskState.Blocked && RtClock.NowNs() < deadline)
                    {
                        await ctx.PreemptionPoint(); // cannot switch here
                    }

                    seen = sleeper.State;
                }

                await ctx.PreemptionPoint(); // the first point after the section: the sleeper runs
                return (true, seen, sleeper.IsCompleted);
            });
            await Rt.Until(() => low.State == RtTaskState.Blocked, "low waiting"); // the sleeper is asleep or done: low checks
            go.Set();
            (bool started, RtTaskState seen, bool ranAfter) = await low.WithTimeout();
            Assert.Equal(0, await sleeper.WithTimeout());
            if (started)
            {
                Assert.Equal(RtTaskState.Runnable, seen);
                Assert.True(ranAfter);
                return;
            }
        }

        Assert.Fail("the section never started before the sleeper's deadline (the OS delayed it every time)");
    }

    /// <summary>
    /// The outermost enable of an <c>await using</c> guard does not throw a pending cancellation (it may run
    /// for an exception leaving the section, which the throw would replace): its awaitable completes, and
    /// the task's next point throws the cancellation.
    /// </summary>
    [Fact]
    public async Task CancelledTaskAtDisposeAsync_TheEnableCompletes_TheNextPointThrows()
    {
        await using var rt = Rt.Start(cpus: 1);
        string? enable = null;
        var t = rt.Spawn("as-task", 10, async ctx =>
        {
            PreemptGuard guard = ctx.PreemptDisable();
            ctx.Task.Cancel();
            Task asTask = guard.DisposeAsync().AsTask();
            await asTask;
            enable = asTask.Status.ToString();
            await ctx.PreemptionPoint();
            enable += ", then past the next point";
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => t.WithTimeout());
        Assert.Equal(nameof(TaskStatus.RanToCompletion), enable);
        Assert.Equal(RtTaskState.Cancelled, t.State);
    }

    /// <summary>
    /// A task cancelled while inside an <c>await using</c> guard that then throws out of the section ends
    /// Faulted with its own exception: the outermost enable, run by the exception leaving the section,
    /// does not throw the pending cancellation over it (the next point would).
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AwaitUsingGuard_TaskCancelledInsideThrowsOut_EndsFaultedWithItsOwnException(bool preempt)
    {
        await using var rt = Rt.Start(cpus: 1);
        using var cts = new CancellationTokenSource();
        var inside = new ManualResetEventSlim();
        RtTask t = rt.Spawn("T", 10, async ctx =>
        {
            await using (preempt ? (IAsyncDisposable)ctx.PreemptDisable() : ctx.MigrateDisable())
            {
                inside.Set();
                Assert.True(SpinWait.SpinUntil(() => cts.IsCancellationRequested, Rt.Hang), "cancelled");
                throw new InvalidOperationException("the section's own failure");
            }
        }, cancellationToken: cts.Token);
        Assert.True(inside.Wait(Rt.Hang), "T inside its section");
        cts.Cancel();

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => t.WithTimeout());
        Assert.Equal("the section's own failure", e.Message);
        Assert.Equal(RtTaskState.Faulted, t.State);
    }
}
