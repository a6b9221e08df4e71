using System.Runtime.CompilerServices;
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
        await Rt.Until(() => sleeper.State == RtTaskState.Blocked, "the sleeper asleep");

        object? continuation = sleeper.Continuation;
        Assert.NotNull(continuation);
        Assert.IsNotType<Action>(continuation, exactMatch: false); // a delegate would be 64 bytes more per sleeping task
        _ = Assert.IsAssignableFrom<Task>(continuation); // the builder's box (a Task) that runs the body's state machine

        sleeper.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sleeper.WithTimeout());
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
        await Rt.Until(() => waiter.State == RtTaskState.Blocked, "the periodic task asleep");

        Assert.IsNotType<Action>(waiter.Continuation, exactMatch: false);
        waiter.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiter.WithTimeout());
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

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => t.WithTimeout());
        Assert.Contains("completed a sleep's or wait's awaiter that is not the one it awaits now", e.Message, StringComparison.Ordinal);
        await rt.AssertStillRunsTasks();
    }
}
