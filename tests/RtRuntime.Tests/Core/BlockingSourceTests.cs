using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// Sleeps and waits through the runtime's ValueTask sources (<see cref="HrTimerSleeper"/>,
/// <see cref="WaitQueueEntry"/>): a blocked task keeps its body's state machine box and no continuation
/// delegate; an awaiter completed by hand still resumes; a stale awaiter faults its task clearly and
/// the runtime goes on.
/// </summary>
public class BlockingSourceTests
{
    [Fact]
    public async Task AsleepInSleepUntil_TheTaskKeepsTheStateMachineNotADelegate()
    {
        await using var rt = Rt.Start(cpus: 1);
        var sleeper = rt.Spawn("sleeper", 10, async ctx => await ctx.SleepUntil(long.MaxValue));
        await AssertBlockedOnTheBoxThenCancel(sleeper, "the sleeper asleep");
    }

    [Fact]
    public async Task AsleepInAPeriodWait_TheTaskKeepsNoDelegate_AndTheWaitReturnsItsMissedCount()
    {
        await using var rt = Rt.Start(cpus: 1);
        long first = RtClock.NowNs() - RtClock.ToNs(TimeSpan.FromMilliseconds(1)); // a release already passed
        var period = new RtPeriod(TimeSpan.FromHours(1), first);
        var waiter = rt.Spawn<long>("period", 10, async ctx =>
        {
            long atOnce = await period.WaitAsync(ctx); // the release has passed: completes at once, no release missed
            return atOnce + await period.WaitAsync(ctx); // the next release is an hour away: sleeps
        });
        await AssertBlockedOnTheBoxThenCancel(waiter, "the periodic task asleep");
    }

    [Theory]
    [InlineData("wait")]
    [InlineData("timed wait")]
    public async Task BlockedInAWait_TheTaskKeepsNoDelegate_AndTheGrantResumesIt(string kind)
    {
        await using var rt = Rt.Start(cpus: 1);
        var ev = new RtEvent();
        var waiter = rt.Spawn<bool>("waiter", 10, async ctx =>
        {
            if (kind == "wait")
            {
                await ev.WaitAsync(ctx);
                return true;
            }

            return await ev.WaitAsync(ctx, TimeSpan.FromHours(1));
        });
        await Rt.Until(() => waiter.State == RtTaskState.Blocked, "the waiter blocked");

        _ = Assert.IsAssignableFrom<Task>(waiter.Continuation);
        ev.Set();
        Assert.True(await waiter.WithTimeout());
        Assert.Equal(0, ev.WaiterCount);
    }

    [Fact]
    public async Task SleepAwaiterCompletedByHand_ResumesThroughItsOwnDelegate()
    {
        await using var rt = Rt.Start(cpus: 1);
        var t = rt.Spawn<string>("by-hand", 10, async ctx =>
        {
            var woke = new TaskCompletionSource<string>();
            ValueTaskAwaiter awaiter = ctx.Sleep(TimeSpan.FromMilliseconds(1)).GetAwaiter();
            awaiter.UnsafeOnCompleted(() =>
            {
                awaiter.GetResult();
                woke.SetResult($"resumed on cpu{ctx.RawCpuId}");
            });
            return await woke.Task;
        });

        Assert.Equal("resumed on cpu0", await t.WithTimeout());
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task StaleAwaiter_FaultsTheTaskClearly_AndTheRuntimeGoesOn()
    {
        await using var rt = Rt.Start(cpus: 1);
        var ev = new RtEvent();
        var t = rt.Spawn("stale", 10, async ctx =>
        {
            // An hour each: neither may complete at once however slow the machine (the second must be prepared).
            ValueTaskAwaiter first = ctx.Sleep(TimeSpan.FromHours(1)).GetAwaiter();
            ValueTaskAwaiter<bool> second = ev.WaitAsync(ctx, TimeSpan.FromHours(1)).GetAwaiter(); // the CPU now holds this one's block
            first.UnsafeOnCompleted(static () => { });
            await ctx.Yield();
            GC.KeepAlive(second);
        });

        await AssertFaultsAsStaleAwaiter(rt, t);
    }

    [Fact]
    public async Task AwaiterKeptPastItsStep_IsStale_AndFaultsTheTask()
    {
        await using var rt = Rt.Start(cpus: 1);
        var t = rt.Spawn("kept", 10, async ctx =>
        {
            ValueTaskAwaiter kept = ctx.Sleep(TimeSpan.FromHours(1)).GetAwaiter();
            await ctx.Yield(); // the step ends: what the awaiter prepared is forgotten
            kept.UnsafeOnCompleted(static () => { });
            await ctx.Yield();
        });

        await AssertFaultsAsStaleAwaiter(rt, t);
    }

    [Fact]
    public async Task WaitAwaiterMadeAndNotAwaited_TheCpuDoesNotKeepItsQueue()
    {
        await using var rt = Rt.Start(cpus: 1);
        WeakReference? weak = null;
        await rt.Spawn("try-take", 10, ctx =>
        {
            weak = TryTakeByAwaiter(ctx);
            return ValueTask.CompletedTask;
        }).WithTimeout();

        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        Assert.False(weak!.IsAlive, "the CPU still references the event the awaiter prepared to wait on");
    }

    [Fact]
    public async Task PeriodWaitThatSuspends_ReturnsItsOwnMissedCount_NotALaterWaits()
    {
        await using var rt = Rt.Start(cpus: 1);
        long interval = RtClock.ToNs(TimeSpan.FromHours(1));
        var period = new RtPeriod(TimeSpan.FromHours(1), RtClock.NowNs() - (3 * interval) - 1); // three releases missed
        var t = rt.Spawn<long>("period", 10, async ctx =>
        {
            RtPeriodAwaitable first = period.WaitAsync(ctx); // its release passed: three missed
            _ = period.WaitAsync(ctx); // the next release is an hour away: none missed (never awaited)
            _ = rt.Spawn("higher", 50, _ => ValueTask.CompletedTask); // pending work: the first await suspends
            return await first;
        });

        Assert.Equal(3, await t.WithTimeout());
    }

    [Fact]
    public async Task AGuardsSwitchAwaitedAsATask_LeavesSleepersWithoutADelegate()
    {
        await using var rt = Rt.Start(cpus: 1);
        await rt.Spawn("as-task", 10, async ctx =>
        {
            PreemptGuard guard = ctx.PreemptDisable();
            _ = rt.Spawn("higher", 50, _ => ValueTask.CompletedTask); // a switch is due at the enable
            await guard.DisposeAsync().AsTask(); // a source completed through another invoker than the builders'
        }).WithTimeout();

        var sleeper = rt.Spawn("sleeper", 10, async ctx => await ctx.SleepUntil(long.MaxValue));
        await AssertBlockedOnTheBoxThenCancel(sleeper, "the sleeper asleep");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AHandoffThroughWaits_AllocatesNothingPerSuspension(bool timed)
    {
        // Two tasks on one CPU hand off through two events: every wait suspends. Counted on the CPU
        // thread, so both tasks' allocations are in it (the waits are inline: a helper async method would
        // allocate its own box per call); a closure per suspension would be 32 B each.
        const int Warmup = 1_000, Rounds = 20_000;
        await using var rt = Rt.Start(cpus: 1);
        var toA = new RtEvent(autoReset: true);
        var toB = new RtEvent(autoReset: true);
        var pong = rt.Spawn("pong", 10, async ctx =>
        {
            for (int i = 0; i < Warmup + Rounds; i++)
            {
                if (timed)
                {
                    Assert.True(await toB.WaitAsync(ctx, TimeSpan.FromHours(1)));
                }
                else
                {
                    await toB.WaitAsync(ctx);
                }

                toA.Set();
            }
        });
        var ping = rt.Spawn<long>("ping", 10, async ctx =>
        {
            long before = 0;
            for (int i = 0; i < Warmup + Rounds; i++)
            {
                if (i == Warmup)
                {
                    before = GC.GetAllocatedBytesForCurrentThread();
                }

                toB.Set();
                if (timed)
                {
                    Assert.True(await toA.WaitAsync(ctx, TimeSpan.FromHours(1)));
                }
                else
                {
                    await toA.WaitAsync(ctx);
                }
            }

            return GC.GetAllocatedBytesForCurrentThread() - before;
        });

        long allocated = await ping.WithTimeout();
        await pong.WithTimeout();
        Assert.True(allocated < Rounds * 8L, $"{allocated} B allocated over {Rounds} round trips (two suspensions each)");
    }

    [Theory]
    [InlineData("sleep")]
    [InlineData("wait")]
    [InlineData("timed wait")]
    public async Task AResultAskedBeforeTheAwait_Throws_AndTheRuntimeGoesOn(string kind)
    {
        // A synchronous GetResult of a pending sleep or wait would skip the sleep, or claim a grant that
        // never came (a timed wait on an unset event said true).
        await using var rt = Rt.Start(cpus: 1);
        var ev = new RtEvent();
        var t = rt.Spawn("sync", 10, ctx =>
        {
            switch (kind)
            {
                case "sleep":
                    ctx.Sleep(TimeSpan.FromHours(1)).GetAwaiter().GetResult();
                    break;
                case "wait":
                    ev.WaitAsync(ctx).GetAwaiter().GetResult();
                    break;
                default:
                    _ = ev.WaitAsync(ctx, TimeSpan.FromHours(1)).GetAwaiter().GetResult();
                    break;
            }

            return ValueTask.CompletedTask;
        });

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => t.WithTimeout());
        Assert.Contains("asked a sleep's or wait's result before awaiting it", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, ev.WaiterCount);
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public void RtPeriod_IsNotItselfAValueTaskSource()
    {
        // Public, it could be awaited off a CPU, where the builder's OnCompleted call throws on the
        // ThreadPool and ends the process.
        Assert.False(typeof(IValueTaskSource<long>).IsAssignableFrom(typeof(RtPeriod)));
    }

    // Once blocked, the task keeps the builder's box (a Task that runs the body's state machine), not an
    // Action to it (64 bytes more per blocked task); cancelled, it ends cancelled.
    private static async Task AssertBlockedOnTheBoxThenCancel(RtTask task, string what)
    {
        await Rt.Until(() => task.State == RtTaskState.Blocked, what);
        object? continuation = task.Continuation;
        Assert.NotNull(continuation);
        Assert.IsNotType<Action>(continuation, exactMatch: false);
        _ = Assert.IsAssignableFrom<Task>(continuation);
        task.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task.WithTimeout());
    }

    private static async Task AssertFaultsAsStaleAwaiter(RtScheduler rt, RtTask task)
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => task.WithTimeout());
        Assert.Contains("completed a sleep's or wait's awaiter that is not the one it awaits now", e.Message, StringComparison.Ordinal);
        await rt.AssertStillRunsTasks();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference TryTakeByAwaiter(TaskContext ctx)
    {
        var ev = new RtEvent();
        Assert.False(ev.WaitAsync(ctx).GetAwaiter().IsCompleted); // not set: prepares a wait that is never awaited
        return new WeakReference(ev);
    }
}
