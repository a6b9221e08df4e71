using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// The timer duty: an idle CPU fires the expired timers of busy CPUs (a busy CPU fires its own only at
/// its running task's next preemption point). A sleeper whose CPU is held by a task that passes no
/// preemption point at all still wakes, on the idle CPU.
/// </summary>
public class TimerDutyTests
{
    [Fact]
    public async Task SleeperOnACpuHeldWithoutPreemptionPoints_WakesOnTheIdleCpu()
    {
        await using var rt = Rt.Start(cpus: 2);

        // The sleeper's CPU must be held before its deadline; on a stalled VM it might not be, so
        // such an attempt is retried (it proves nothing either way).
        for (int attempt = 0; attempt < 20; attempt++)
        {
            int sleptOn = -1;
            int ranOn = -1;
            bool holderStarted = false;
            bool heldAtWake = false;
            bool woke = false;
            var asleep = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var sleeper = rt.Spawn("sleeper", 20, async ctx =>
            {
                sleptOn = ctx.RawCpuId;
                long deadline = RtClock.NowNs() + RtClock.ToNs(TimeSpan.FromMilliseconds(50));
                asleep.SetResult();
                await ctx.SleepUntil(deadline);
                heldAtWake = Volatile.Read(ref holderStarted);
                ranOn = ctx.RawCpuId;
                Volatile.Write(ref woke, true);
            });
            await asleep.Task.WithTimeout();

            // Holds the sleeper's CPU at a higher priority, with no preemption point until the sleeper
            // has run: only another CPU can fire the sleeper's timer meanwhile.
            var holder = rt.Spawn("holder", 50, ctx =>
            {
                Volatile.Write(ref holderStarted, true);
                ctx.SpinWithoutPointsUntil(() => Volatile.Read(ref woke), "the sleeper ran");
                return ValueTask.CompletedTask;
            }, affinity: CpuSet.Of(sleptOn));
            await sleeper.WithTimeout();
            await holder.WithTimeout();
            if (!heldAtWake)
            {
                continue;
            }

            Assert.NotEqual(sleptOn, ranOn);
            return;
        }

        Assert.Fail("In 20 attempts the holder never started within 50 ms of the sleeper going to sleep.");
    }

    /// <summary>
    /// A task woken from idle on a CPU where another task sleeps far ahead kicks no idle CPU to take the
    /// duty: the sleeper is rt/timer's until its lead. Before, every such switch-in woke the other CPU
    /// (a futex wake on the woken task's path, 12–15 µs here), and that CPU, finding the busy one idle
    /// again, left the duty vacant for the next kick.
    /// </summary>
    [Fact]
    public async Task ATaskWokenFromIdle_WithAFarSleeperOnItsCpu_KicksNoIdleCpu()
    {
        await using var rt = Rt.Start(cpus: 2);
        RtTask far = rt.Spawn("far", 10, async ctx => await ctx.Sleep(TimeSpan.FromHours(1)), affinity: CpuSet.Of(0));
        await Rt.Until(() => far.State == RtTaskState.Blocked, "far asleep");
        long kicks = rt.HrTimer.Duty.Kicks;

        RtTask periodic = rt.Spawn("periodic", 80, async ctx =>
        {
            for (int i = 0; i < 20; i++)
            {
                await ctx.Sleep(TimeSpan.FromMilliseconds(1)); // each release wakes CPU 0 from idle, with far's timer armed
            }
        }, affinity: CpuSet.Of(0));
        await periodic.WithTimeout();

        Assert.Equal(kicks, rt.HrTimer.Duty.Kicks);
        far.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => far.WithTimeout());
    }
}
