using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>StopAsync accounts for every accepted task: completed, faulted or cancelled (or reports it abandoned).</summary>
public class ShutdownTests
{
    [Fact]
    public async Task StopAsync_UnderLoadWithInfiniteLoopsAndSleepers_AccountsForEveryTask()
    {
        var rt = Rt.Start(cpus: 2);
        var tasks = new List<RtTask>();
        for (int i = 0; i < 360; i++)
        {
            int n = i;
            int prio = 1 + (n * 37 % 99);
            SchedPolicy policy = (n % 7) switch { 0 => SchedPolicy.Normal, 1 => SchedPolicy.RoundRobin, _ => SchedPolicy.Fifo };
            if (policy == SchedPolicy.Normal)
            {
                prio = 0;
            }

            Func<TaskContext, ValueTask> body = (n % 6) switch
            {
                0 => async ctx =>
                {
                    for (int k = 0; k < 10; k++)
                    {
                        await ctx.Yield();
                    }
                },
                1 => async ctx =>
                {
                    while (true)
                    {
                        await ctx.PreemptionPoint();
                    }
                },
                2 => async ctx => await ctx.Sleep(TimeSpan.FromHours(1)),
                3 => async ctx =>
                {
                    await ctx.Yield();
                    throw new InvalidDataException("fault " + n);
                },
                4 => async ctx =>
                {
                    while (true)
                    {
                        using (ctx.MigrateDisable())
                        {
                            await ctx.Yield();
                        }
                    }
                },
                _ => async ctx =>
                {
                    while (true)
                    {
                        await ctx.Sleep(TimeSpan.FromMilliseconds(1));
                    }
                },
            };
            tasks.Add(rt.Spawn("load" + n, prio, body, policy));
        }

        ShutdownSummary summary = await rt.StopAsync(TimeSpan.FromMilliseconds(20), TimeSpan.FromSeconds(20)).WithTimeout();

        Assert.True(summary.AllAccountedFor, summary.ToString());
        Assert.Equal(0, summary.Abandoned);
        Assert.Equal(360, summary.Accepted);
        Assert.All(tasks, t => Assert.True(t.IsCompleted, t.ToString()));
        Assert.Equal(tasks.Count(t => t.State == RtTaskState.Completed), summary.Completed);
        Assert.Equal(tasks.Count(t => t.State == RtTaskState.Faulted), summary.Faulted);
        Assert.Equal(tasks.Count(t => t.State == RtTaskState.Cancelled), summary.Cancelled);

        // Tasks that never end by themselves can only have been cancelled.
        for (int i = 0; i < tasks.Count; i++)
        {
            if (i % 6 is 1 or 2 or 4 or 5)
            {
                Assert.Equal(RtTaskState.Cancelled, tasks[i].State);
            }
            else if (tasks[i].State == RtTaskState.Faulted)
            {
                Assert.Equal(3, i % 6);
            }
        }

        Assert.Equal(0, rt.LiveTasks);
        Assert.False(rt.IsAccepting);
        Assert.Equal(0, rt.NrPinned(0) + rt.NrPinned(1));
    }

    [Fact]
    public async Task StopAsync_FiniteTasksWithLongDrain_AllCompleteNoneCancelled()
    {
        var rt = Rt.Start(cpus: 2);
        var tasks = new List<RtTask<int>>();
        for (int i = 0; i < 100; i++)
        {
            int n = i;
            tasks.Add(rt.Spawn<int>("finite" + n, 1 + (n % 50), async ctx =>
            {
                await ctx.Sleep(TimeSpan.FromMilliseconds(n % 3));
                await ctx.Yield();
                return n;
            }));
        }

        ShutdownSummary summary = await rt.StopAsync(Timeout.InfiniteTimeSpan).WithTimeout();

        Assert.Equal(new ShutdownSummary(100, 100, 0, 0, 0), summary);
        Assert.True(summary.AllAccountedFor);
        for (int i = 0; i < tasks.Count; i++)
        {
            Assert.Equal(i, tasks[i].Result);
        }
    }

    [Fact]
    public async Task StopAsync_TasksBlockedOnForeignAwait_EndedAsCancelledAfterGrace()
    {
        var rt = Rt.Start(cpus: 2);
        var never = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = new List<RtTask>();
        for (int i = 0; i < 10; i++)
        {
            tasks.Add(rt.Spawn("foreign" + i, 10, async ctx =>
            {
                using (ctx.MigrateDisable())
                {
                    await never.Task;
                }
            }));
        }

        await Rt.Until(() => tasks.All(t => t.State == RtTaskState.Blocked), "all block on the foreign await");
        ShutdownSummary summary = await rt.StopAsync(TimeSpan.Zero, TimeSpan.FromMilliseconds(100)).WithTimeout();

        Assert.Equal(new ShutdownSummary(10, 0, 0, 10, 0), summary);
        Assert.All(tasks, t => Assert.Equal(RtTaskState.Cancelled, t.State));
        Assert.Equal(0, rt.NrPinned(0) + rt.NrPinned(1));

        // A continuation that arrives after the stop is dropped: the tasks stay cancelled.
        never.SetResult();
        await Task.Delay(10);
        Assert.All(tasks, t => Assert.Equal(RtTaskState.Cancelled, t.State));
    }

    [Fact]
    public async Task StopAsync_TaskHoldingALocalLockBlockedOnForeignAwait_EndedAndTheLockReleased()
    {
        // Rt model: the lock is a sleeping lock that may be held across an await (NonRt's holder by id
        // is not observable once its task is off CPU).
        var rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1, Model = PreemptionModel.Rt });
        var localLock = new RtRuntime.PerCpu.LocalLock(rt, "stop-lock");
        var never = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holder = rt.Spawn("holder", 20, async ctx =>
        {
            using (await localLock.LockAsync(ctx))
            {
                await never.Task;
            }
        });
        await Rt.Until(() => holder.State == RtTaskState.Blocked, "holder blocked on the foreign await");

        ShutdownSummary summary = await rt.StopAsync(TimeSpan.Zero, TimeSpan.FromMilliseconds(100)).WithTimeout();

        Assert.Equal(RtTaskState.Cancelled, holder.State);
        Assert.Equal(0, summary.Abandoned);
        Assert.Null(localLock.OwnerOn(0));
        Assert.Equal(0, rt.NrPinned(0));
    }

    [Fact]
    public async Task StopAsync_TaskThatNeverReachesPreemptionPoint_ReportedAbandonedNotAccountedFor()
    {
        var rt = Rt.Start(cpus: 1);
        var release = new ManualResetEventSlim();
        var spinner = rt.Spawn("spinner", 10, _ =>
        {
            release.Wait(Rt.Hang); // holds its CPU thread without any preemption point
            return ValueTask.CompletedTask;
        });
        await Rt.Until(() => spinner.State == RtTaskState.Running, "the spinner runs");

        try
        {
            ShutdownSummary summary = await rt.StopAsync(TimeSpan.Zero, TimeSpan.FromMilliseconds(50)).WithTimeout();
            Assert.Equal(new ShutdownSummary(1, 0, 0, 0, 1), summary);
            Assert.False(summary.AllAccountedFor);
        }
        finally
        {
            release.Set(); // let the CPU thread finish
        }

        await spinner.WithTimeout();
    }

    [Fact]
    public async Task StopAsync_TasksQueuedBehindATaskThatNeverStops_EndedAsCancelledOnlyItAbandoned()
    {
        var rt = Rt.Start(cpus: 1);
        var release = new ManualResetEventSlim();
        RtTask spinner = await Rt.SpawnStuckAsync(rt, release);
        // Spawned from this thread: handed over through the stuck CPU's wake list, which it never drains.
        var unstarted = rt.Spawn("unstarted", 10, async ctx => await ctx.Yield());
        var woken = rt.Spawn("woken", 20, async ctx => await ctx.Yield());
        await Rt.Until(() => woken.State == RtTaskState.Runnable && unstarted.State == RtTaskState.Runnable, "both queued behind the spinner");

        try
        {
            ShutdownSummary summary = await rt.StopAsync(TimeSpan.Zero, TimeSpan.FromMilliseconds(50)).WithTimeout();
            Assert.Equal(new ShutdownSummary(3, 0, 0, 2, 1), summary);
            Assert.Equal(RtTaskState.Cancelled, unstarted.State);
            Assert.Equal(RtTaskState.Cancelled, woken.State);
            Assert.Equal(RtTaskState.Running, spinner.State);
        }
        finally
        {
            release.Set();
        }

        await spinner.WithTimeout();
        Assert.Equal(RtTaskState.Cancelled, unstarted.State); // the CPU, free again, did not run them after all
        Assert.Equal(RtTaskState.Cancelled, woken.State);
    }

    [Fact]
    public async Task StopAsync_WaiterEndedBeforeTakingItsPermit_NeverRaisesTheSemaphoreAboveMaxCount()
    {
        var rt = Rt.Start(cpus: 1);
        var semaphore = new RtSemaphore(initialCount: 0, maxCount: 1);
        var waiter = rt.Spawn("waiter", 10, async ctx => await semaphore.WaitAsync(ctx));
        await Rt.Until(() => waiter.State == RtTaskState.Blocked, "the waiter blocks");
        var release = new ManualResetEventSlim();
        RtTask spinner = await Rt.SpawnStuckAsync(rt, release);
        try
        {
            semaphore.Release(); // granted to the waiter, which cannot run to take it
            semaphore.Release(); // no waiter left: banked, the count at maxCount
            Assert.Equal(1, semaphore.CurrentCount);

            ShutdownSummary summary = await rt.StopAsync(TimeSpan.Zero, TimeSpan.FromMilliseconds(50)).WithTimeout();

            Assert.Equal(RtTaskState.Cancelled, waiter.State); // ended with its grant untaken: the grant goes back
            Assert.Equal(1, summary.Abandoned);
            Assert.Equal(1, semaphore.CurrentCount); // not 2: the count stays within maxCount
        }
        finally
        {
            release.Set();
        }

        await spinner.WithTimeout();
    }

    [Fact]
    public async Task StopAsync_PinnedTaskPreemptedByATaskThatNeverStops_EndedAndUnpinned()
    {
        var rt = Rt.Start(cpus: 1);
        var release = new ManualResetEventSlim();
        RtTask? spinner = null;
        var pinned = rt.Spawn("pinned", 10, async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                spinner = rt.Spawn("spinner", 50, _ =>
                {
                    release.Wait(Rt.Hang); // holds the CPU thread without any preemption point
                    return ValueTask.CompletedTask;
                });
                await ctx.PreemptionPoint(); // preempted here, pinned, behind the spinner
            }
        });
        await Rt.Until(() => spinner is { State: RtTaskState.Running } && pinned.State == RtTaskState.Runnable, "the spinner preempted the pinned task");
        Assert.Equal(1, rt.NrPinned(0));

        try
        {
            ShutdownSummary summary = await rt.StopAsync(TimeSpan.Zero, TimeSpan.FromMilliseconds(50)).WithTimeout();
            Assert.Equal(new ShutdownSummary(2, 0, 0, 1, 1), summary);
            Assert.Equal(RtTaskState.Cancelled, pinned.State);
            Assert.Equal(0, rt.NrPinned(0));
        }
        finally
        {
            release.Set();
        }

        await spinner!.WithTimeout();
        Assert.Equal(0, rt.NrPinned(0));
    }

    [Fact]
    public async Task StopAsync_GrantedWaiterQueuedBehindATaskThatNeverStops_PermitReturned()
    {
        var rt = Rt.Start(cpus: 1);
        var release = new ManualResetEventSlim();
        var sem = new RtSemaphore(0);
        var waiter = rt.Spawn("waiter", 10, async ctx => await sem.WaitAsync(ctx));
        await Rt.Until(() => sem.WaiterCount == 1, "the waiter waits");
        RtTask spinner = await Rt.SpawnStuckAsync(rt, release);
        sem.Release(); // granted to the waiter, which queues behind the spinner

        ShutdownSummary summary = await StopWhileStuckAsync(rt, release, spinner);
        Assert.Equal(new ShutdownSummary(2, 0, 0, 1, 1), summary);
        Assert.Equal(RtTaskState.Cancelled, waiter.State);
        Assert.Equal(1, sem.CurrentCount); // the permit it never took is back
    }

    [Fact]
    public async Task StopAsync_BodyCompletedOffCpuQueuedBehindATaskThatNeverStops_GetsItsResult()
    {
        var rt = Rt.Start(cpus: 1);
        var release = new ManualResetEventSlim();
        var proceed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int returned = 0;
        var offCpu = rt.Spawn<int>("off-cpu", 10, async ctx =>
        {
            await proceed.Task.ConfigureAwait(false); // the rest of the body runs on the ThreadPool
            Volatile.Write(ref returned, 1);
            return 42;
        });
        await Rt.Until(() => offCpu.State == RtTaskState.Blocked, "the body awaits off the runtime");
        RtTask spinner = await Rt.SpawnStuckAsync(rt, release);
        proceed.SetResult();
        await Rt.Until(() => Volatile.Read(ref returned) == 1 && offCpu.State == RtTaskState.Runnable, "the body returned; its CPU has yet to publish it");

        ShutdownSummary summary = await StopWhileStuckAsync(rt, release, spinner);
        Assert.Equal(new ShutdownSummary(2, 1, 0, 0, 1), summary);
        Assert.Equal(42, await offCpu.WithTimeout());
    }

    [Fact]
    public async Task StopAsync_AwaiterWokenByATaskTheStopEnds_EndedTooOnlyTheStuckTaskAbandoned()
    {
        var rt = Rt.Start(cpus: 1);
        var release = new ManualResetEventSlim();
        RtTask? awaited = null;
        RtTask? spinner = null;
        var awaiter = rt.Spawn("awaiter", 5, async ctx =>
        {
            awaited = rt.Spawn("awaited", 10, async c =>
            {
                spinner = rt.Spawn("spinner", 50, _ =>
                {
                    release.Wait(Rt.Hang);
                    return ValueTask.CompletedTask;
                });
                await c.PreemptionPoint(); // preempted: queued behind the spinner
            });
            await awaited; // blocks until the awaited task ends: the stop's ending wakes it onto the stuck CPU
        });
        await Rt.Until(() => spinner is { State: RtTaskState.Running } && awaited is { State: RtTaskState.Runnable } && awaiter.State == RtTaskState.Blocked, "the pile behind the spinner");

        ShutdownSummary summary = await StopWhileStuckAsync(rt, release, spinner!);
        Assert.Equal(new ShutdownSummary(3, 0, 0, 2, 1), summary);
        Assert.Equal(RtTaskState.Cancelled, awaited!.State); // ended states are final: the spinner's end cannot change them
        Assert.Equal(RtTaskState.Cancelled, awaiter.State);
    }

    [Theory]
    [InlineData("sleep")]
    [InlineData("yield")]
    [InlineData("point")]
    [InlineData("wait")]
    public async Task StopAsync_TaskThatCatchesItsCancellationAndGoesOn_EndedAtItsNextAwaitAfterGrace(string awaitKind)
    {
        var rt = Rt.Start(cpus: 1);
        rt.ReapWindow = Rt.Hang; // a reap is expected: a CPU thread kept off the cores past 200 ms (loaded CI) must not read as an abandon
        var never = new RtEvent();
        int caught = 0;
        RtTask stubborn = rt.Spawn("stubborn", 10, async ctx =>
        {
            while (true)
            {
                try
                {
                    switch (awaitKind)
                    {
                        case "sleep":
                            await ctx.Sleep(TimeSpan.FromMilliseconds(1));
                            break;
                        case "yield":
                            await ctx.Yield();
                            break;
                        case "point":
                            await ctx.PreemptionPoint();
                            break;
                        default:
                            await never.WaitAsync(ctx);
                            break;
                    }
                }
                catch (OperationCanceledException)
                {
                    Interlocked.Increment(ref caught); // the retry-loop shape: cancellation swallowed, loop again
                }
            }
        });
        await Rt.Until(() => stubborn.State != RtTaskState.Runnable, "the task started");

        // The grace must let the task resume and catch at least once: 50 ms was too short once, in a
        // clean-clone run while the machine's load was 10-19 on its 2 cores; 1 s leaves room for that.
        ShutdownSummary summary = await rt.StopAsync(TimeSpan.Zero, TimeSpan.FromSeconds(1)).WithTimeout();
        Assert.Equal(new ShutdownSummary(1, 0, 0, 1, 0), summary);
        Assert.Equal(RtTaskState.Cancelled, stubborn.State);
        Assert.True(Volatile.Read(ref caught) > 0, "the task caught its cancellation during the grace");
        var e = await Assert.ThrowsAsync<OperationCanceledException>(async () => await stubborn);
        Assert.Contains("running after its cancellation", e.Message, StringComparison.Ordinal);
        await rt.DisposeAsync();
    }

    /// <summary>
    /// A task that catches its cancellation at a preemption point and loops, with no other work ever
    /// pending at its points (the stall detector's probe is kept out: <see cref="Rt.NoStallProbe"/>):
    /// after the grace its CPU must still end it at its next point (the stop reaps it), not leave it
    /// running and report it abandoned. A point that throws the cancellation itself, without going to
    /// its CPU's dispatcher, never reaches the reap.
    /// </summary>
    [Fact]
    public async Task StopAsync_TaskThatCatchesItsCancellationAtPointsWithNothingElsePending_IsReapedNotAbandoned()
    {
        var rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.StallThreshold = Rt.NoStallProbe;
        });
        rt.ReapWindow = Rt.Hang; // a reap is expected (CI failed it once at load 17: the CPU thread was off the cores past 200 ms)
        int caught = 0;
        int release = 0;
        RtTask stubborn = rt.Spawn("stubborn", 10, async ctx =>
        {
            while (Volatile.Read(ref release) == 0)
            {
                try
                {
                    await ctx.PreemptionPoint();
                }
                catch (OperationCanceledException)
                {
                    Interlocked.Increment(ref caught);
                }
            }
        });
        await Rt.Until(() => stubborn.State == RtTaskState.Running, "the task runs");

        try
        {
            // A grace of 1 s, as above: the task must resume and catch at least once within it, on a loaded machine too.
            ShutdownSummary summary = await rt.StopAsync(TimeSpan.Zero, TimeSpan.FromSeconds(1)).WithTimeout();
            Assert.True(Volatile.Read(ref caught) > 0, "the task caught its cancellation during the grace");
            Assert.Equal(new ShutdownSummary(1, 0, 0, 1, 0), summary);
            Assert.Equal(RtTaskState.Cancelled, stubborn.State);
        }
        finally
        {
            Volatile.Write(ref release, 1); // an abandoned task (the failure) leaves its loop, and its CPU thread ends
        }
    }

    [Fact]
    public async Task StopAsync_Twice_ReturnsFirstSummary()
    {
        var rt = Rt.Start(cpus: 1);
        await rt.AssertStillRunsTasks();
        Task<ShutdownSummary> first = rt.StopAsync(TimeSpan.FromSeconds(1));
        Task<ShutdownSummary> second = rt.StopAsync(TimeSpan.Zero);
        Assert.Same(first, second);
        Assert.Equal(new ShutdownSummary(1, 1, 0, 0, 0), await first.WithTimeout());
        await rt.DisposeAsync();
    }

    /// <summary>Stops with no drain and a 50 ms cancel grace while <paramref name="stuck"/> holds its CPU, then lets it finish.</summary>
    private static async Task<ShutdownSummary> StopWhileStuckAsync(RtScheduler rt, ManualResetEventSlim release, RtTask stuck)
    {
        ShutdownSummary summary;
        try
        {
            summary = await rt.StopAsync(TimeSpan.Zero, TimeSpan.FromMilliseconds(50)).WithTimeout();
        }
        finally
        {
            release.Set();
        }

        await stuck.WithTimeout();
        return summary;
    }

    [Fact]
    public async Task StopAsync_CalledAgainFromCodeTheStopsOwnStartRuns_ReturnsTheSameStop()
    {
        // A stop ends a pending offline, whose failure runs its awaiter's continuation inline, inside the
        // stop's first call: a second call made there must get that same stop, not start another one.
        var rt = Rt.Start(cpus: 2);
        var wake = new RtEvent();
        RtTask pinned = await Rt.SpawnPinnedSleeperAsync(rt, "pinned", 10, cpu: 1, wake);
        Task<ShutdownSummary>? inner = null;
        Task offline = rt.OfflineAsync(1);
        Task continuation = offline.ContinueWith(
            _ => inner = rt.StopAsync(TimeSpan.FromSeconds(5)),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        await Rt.Until(() => !rt.IsActive(1), "cpu1 dying");

        Task<ShutdownSummary> outer = rt.StopAsync(TimeSpan.FromSeconds(5));
        wake.Set();
        ShutdownSummary summary = await outer.WithTimeout();
        await continuation.WithTimeout();
        await Assert.ThrowsAsync<InvalidOperationException>(() => offline);
        await pinned.WithTimeout();
        Assert.Same(outer, inner);
        Assert.Same(outer, rt.StopAsync(TimeSpan.Zero));
        Assert.True(summary.AllAccountedFor);
    }

    [Fact]
    public async Task StopAsync_SpawnsRefusedWhileATaskIsLive_NeverCompleteTheDrainBeforeItEnds()
    {
        // A refused spawn counts itself admitted, then refused. LiveTasks (and the drain's test of it)
        // read admissions before refusals, so refusals made between the two reads were subtracted
        // without their admissions: a live task read as gone (LiveTasks went negative), the drain
        // completed and the CPU threads exited, leaving the blocked task to wait for ever.
        var rt = Rt.Start(cpus: 1);
        var gate = new RtEvent();
        RtTask live = rt.Spawn("live", 10, async ctx => await gate.WaitAsync(ctx));
        await Rt.Until(() => live.State == RtTaskState.Blocked, "live blocked");

        Task<ShutdownSummary> stop = rt.StopAsync(Timeout.InfiniteTimeSpan); // waits for 'live' for ever
        bool spawnsDone = false;
        long lowest = long.MaxValue;
        var reader = new Thread(() =>
        {
            while (!Volatile.Read(ref spawnsDone))
            {
                lowest = Math.Min(lowest, rt.LiveTasks);
            }
        });
        var spawner = new Thread(() =>
        {
            for (int i = 0; i < 200_000; i++)
            {
                try
                {
                    rt.Spawn("refused", 10, static _ => ValueTask.CompletedTask);
                }
                catch (InvalidOperationException)
                {
                    // refused: the runtime is stopping
                }
            }

            Volatile.Write(ref spawnsDone, true);
        });
        reader.Start();
        spawner.Start();
        spawner.Join();
        reader.Join();

        bool stoppedWhileLive = stop.IsCompleted;
        gate.Set();
        ShutdownSummary summary = await stop.WithTimeout();
        Assert.True(lowest >= 1, $"LiveTasks read {lowest} while 'live' was blocked");
        Assert.False(stoppedWhileLive, "the stop completed while 'live' was still blocked");
        Assert.Equal(RtTaskState.Completed, live.State);
        Assert.True(summary.AllAccountedFor, summary.ToString());
    }
    [Theory]
    [InlineData(0, "Information", "Shutdown: cancelling 1 task(s) at once (no drain time was given)")]
    [InlineData(1, "Warning", "Shutdown: 1 task(s) did not finish within the drain timeout; cancelling them")]
    public async Task StopAsync_ATaskLeftToCancel_IsLoggedAsAskedWithNoDrain_AndAsATimeoutOtherwise(int drainMs, string level, string message)
    {
        // A stop asked to drain for no time (a host's stop at dispose) cancels what runs because it was
        // asked to, not because anything was late: no warning then.
        using var logs = new Hotplug.CapturingLoggerFactory();
        var rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1, LoggerFactory = logs });
        var sleeper = rt.Spawn("sleeper", 10, async ctx => await ctx.Sleep(TimeSpan.FromHours(1)));
        await Rt.Until(() => sleeper.State == RtTaskState.Blocked, "the sleeper asleep");

        ShutdownSummary summary = await rt.StopAsync(TimeSpan.FromMilliseconds(drainMs)).WithTimeout();

        Assert.Equal(new ShutdownSummary(1, 0, 0, 1, 0), summary);
        Assert.Contains(logs.Messages, m => m.Level.ToString() == level && m.Message == message);
        Assert.DoesNotContain(logs.Messages, m => m.Message.StartsWith("Shutdown: ", StringComparison.Ordinal) && m.Message.Contains("cancelling", StringComparison.Ordinal) && m.Message != message);
    }
}
