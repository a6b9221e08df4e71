using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// The timer lead (<see cref="RtSchedulerOptions.TimerLead"/>): a busy CPU's points poll the clock
/// while its earliest timer is near. Outcomes only: sleepers on a busy CPU wake, and the polling bit
/// does not outlive the timers that set it (a stuck bit would send every point to the slow path).
/// </summary>
public class TimerLeadTests
{
    [Theory]
    [InlineData(200)]
    [InlineData(0)]
    public async Task SleeperOnBusyCpu_Wakes_AndThePollingBitClearsAfterTheLastTimer(int leadUs)
    {
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.TimerLead = TimeSpan.FromMicroseconds(leadUs);
            o.StallThreshold = Rt.NoStallProbe;
        });
        int sleeperDone = 0;
        int stop = 0;
        bool sawTimerSoon = false;
        var hog = rt.Spawn("hog", 10, async ctx =>
        {
            while (Volatile.Read(ref stop) == 0)
            {
                sawTimerSoon |= (rt.Cpus[0].Pending & PendingWork.TimerSoon) != 0;
                await ctx.PreemptionPoint();
            }
        }, affinity: CpuSet.Of(0));
        var sleeper = rt.Spawn("sleeper", 90, async ctx =>
        {
            long next = RtClock.NowNs();
            for (int i = 0; i < 200; i++)
            {
                next += 500_000;
                await ctx.SleepUntil(next); // on cpu0, busy with the hog: the busy-CPU timer wakes it
            }

            Volatile.Write(ref sleeperDone, 1);
        }, affinity: CpuSet.Of(0));

        await sleeper.WithTimeout();
        if (leadUs == 0)
        {
            Assert.False(sawTimerSoon); // without a lead the bit is never set (with one, whether the hog saw it depends on timing)
        }

        // No timer is left on cpu0: the bit must clear (on the CPU and in the hog's gate) and stay clear.
        await Rt.Until(() => (rt.Cpus[0].Pending & PendingWork.TimerSoon) == 0 && (hog.Gate & PendingWork.TimerSoon) == 0, "TimerSoon cleared after the last timer");
        Volatile.Write(ref stop, 1);
        await hog.WithTimeout();
        Assert.Equal(1, sleeperDone);
    }
}
