using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// A sleep whose timer fired before a cancellation came, cancelled before the task resumed, has
/// completed (as a timed wait's grant or timeout that came first gives its result, and as the kernel's
/// do_nanosleep returns 0 once its timer fired): the cancellation is thrown at the next preemption point.
/// </summary>
public class SleepCancelledAfterItsTimerTests
{
    [Fact]
    public async Task ASleepWhoseTimerFired_CancelledBeforeItResumes_Returns_AndTheNextPointThrows()
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        int sleepReturned = 0, pastPoint = 0;
        RtTask? high = null;
        RtTask sleeper = rt.Spawn("sleeper", 10, async ctx =>
        {
            high = SpawnCancellerOfWokenSleeper(rt, ctx.Task);
            await ctx.Sleep(TimeSpan.FromMilliseconds(1));
            Volatile.Write(ref sleepReturned, 1);
            await ctx.PreemptionPoint(); // the cancellation is observed here
            Volatile.Write(ref pastPoint, 1);
        });
        await Rt.Until(() => Volatile.Read(ref high) is not null, "the canceller spawned");
        await high!.WithTimeout();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sleeper.WithTimeout());
        Assert.Equal(RtTaskState.Cancelled, sleeper.State);
        Assert.Equal(1, Volatile.Read(ref sleepReturned));
        Assert.Equal(0, Volatile.Read(ref pastPoint));
    }

    [Fact]
    public async Task APeriodWaitWhoseTimerFired_CancelledBeforeItResumes_ReturnsItsCount_AndTheNextPointThrows()
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        int waitReturned = 0;
        RtTask? high = null;
        RtTask sleeper = rt.Spawn("periodic", 10, async ctx =>
        {
            var period = new RtPeriod(TimeSpan.FromMilliseconds(1));
            high = SpawnCancellerOfWokenSleeper(rt, ctx.Task);
            _ = await period.WaitAsync(ctx);
            Volatile.Write(ref waitReturned, 1);
            await ctx.PreemptionPoint();
        });
        await Rt.Until(() => Volatile.Read(ref high) is not null, "the canceller spawned");
        await high!.WithTimeout();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sleeper.WithTimeout());
        Assert.Equal(1, Volatile.Read(ref waitReturned));
    }

    [Fact]
    public async Task ASleepCancelledWhileItsTimerIsArmed_StillThrowsAtTheSleep()
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        int sleepReturned = 0;
        RtTask sleeper = rt.Spawn("sleeper", 10, async ctx =>
        {
            await ctx.Sleep(TimeSpan.FromHours(1));
            Volatile.Write(ref sleepReturned, 1);
        });
        await Rt.Until(() => sleeper.State == RtTaskState.Blocked, "the sleeper sleeps");
        sleeper.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sleeper.WithTimeout());
        Assert.Equal(0, Volatile.Read(ref sleepReturned));
    }

    /// <summary>
    /// A higher task on the sleeper's one CPU, spawned by the sleeper just before it sleeps (a spawn is
    /// no preemption point: it runs once the sleeper blocks). It passes points, which fire the sleeper's
    /// timer (the woken sleeper is queued behind it), until the sleeper is runnable, then cancels it
    /// before it resumes.
    /// </summary>
    private static RtTask SpawnCancellerOfWokenSleeper(RtScheduler rt, RtTask sleeper) =>
        rt.Spawn("high", 50, async ctx =>
        {
            // The sleeper blocked before this ran (one CPU); it is Blocked, or already woken by its
            // timer and queued behind this higher task (a loaded machine): either way not resumed.
            while (sleeper.State != RtTaskState.Runnable)
            {
                await ctx.PreemptionPoint();
            }

            sleeper.Cancel();
        });
}
