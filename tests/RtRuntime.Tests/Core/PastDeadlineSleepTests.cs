using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// A sleep to a deadline that has passed still blocks when work is pending on its CPU, and its timer is
/// armed as given. The timer paths subtract the lead from a deadline (rt/timer's NotifyBusy and IsNear,
/// the CPU's PollsTimerAtSwitchIn, TimerRules.ForBusyCpu): for a deadline within the lead of
/// <see cref="long.MinValue"/> that wrapped to about 292 years away, so neither the CPU's points nor
/// rt/timer (parked towards a later deadline) ever fired it. Armed deadlines are now held at
/// <c>Cpu.EarliestArmedDeadlineNs</c>. Found by a review helper.
/// </summary>
public sealed class PastDeadlineSleepTests
{
    [Theory]
    [InlineData(long.MinValue)]
    [InlineData(long.MinValue + 100_000)]
    [InlineData(0L)] // a past deadline far from long.MinValue: fired before the fix too
    public async Task ASleepToAPastDeadline_ArmedOnABusyCpu_IsFiredWhileAHigherTaskRunsPoints(long deadline)
    {
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.StallThreshold = Rt.NoStallProbe;
        });
        Cpu cpu0 = rt.Cpus[0];

        // A sleeper an hour away: rt/timer parks towards it (less the lead) while the CPU is busy.
        RtTask far = rt.Spawn("far", 10, async ctx => await ctx.Sleep(TimeSpan.FromHours(1)));
        await Rt.Until(() => far.State == RtTaskState.Blocked, "far asleep");

        var go = new RtEvent();
        RtTask<bool> high = rt.Spawn<bool>("high", 60, async ctx =>
        {
            await go.WaitAsync(ctx);

            // Passes preemption points until the low task's sleep has fired (its timer left the queue);
            // the give-up only turns a timer that never fires into a failure.
            long giveUp = RtClock.NowNs() + RtClock.ToNs(Rt.Hang);
            while (cpu0.NextDeadline <= 0)
            {
                if (RtClock.NowNs() > giveUp)
                {
                    return cpu0.NextDeadline > 0; // looked at again: the OS may have held this thread off past the give-up
                }

                await ctx.PreemptionPoint();
            }

            return true;
        });
        await Rt.Until(() => high.State == RtTaskState.Blocked && go.WaiterCount == 1, "high waits");

        RtTask low = rt.Spawn("low", 50, async ctx =>
        {
            ctx.SpinWithoutPointsUntil(() => rt.HrTimer.TargetNs != long.MaxValue, "rt/timer parked towards far's deadline");
            go.Set(); // wakes high on this CPU: queued here, need_resched pending
            await ctx.SleepUntil(deadline); // work is pending: it blocks, with its timer armed
        });

        Assert.True(await high.WithTimeout(), $"the sleep to {deadline} never fired while a higher task passed points");
        await low.WithTimeout();
        far.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => far.WithTimeout());
    }
}
