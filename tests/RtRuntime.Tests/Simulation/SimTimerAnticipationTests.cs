using RtRuntime;
using RtRuntime.Scheduling;
using RtRuntime.Simulation;
using static RtRuntime.Tests.Simulation.SimBuild;

namespace RtRuntime.Tests.Simulation;

/// <summary>
/// Timer anticipation in the simulator (<see cref="SimScenario.AnticipateTimersUs"/>) with exact
/// traces, and the shared <see cref="TimerRules"/> the runtime uses too. On one CPU, H sleeps from 0 until
/// 250 µs; L, spawned at 1 µs, computes 1,000 µs with a point every 100 µs.
/// </summary>
public class SimTimerAnticipationTests
{
    [Fact]
    public void Off_SleeperPreemptsAtTheFirstPointAfterItsDeadline()
    {
        SimResult r = RunClean(Busy(anticipateUs: 0, hPrio: 90));
        Assert.Equal(
        [
            "0 cpu0 H Spawn", "0 cpu0 H SwitchIn", "0 cpu0 H Block", "1 cpu0 L Spawn", "1 cpu0 L SwitchIn",
            "250 cpu0 H Wakeup", "301 cpu0 L Preempt", "301 cpu0 H SwitchIn", "311 cpu0 H Exit", "311 cpu0 L SwitchIn", "1011 cpu0 L Exit",
        ], Lines(r));
        Assert.Equal(51, r.Task("H").MaxWaitUs);
        Assert.Equal(0, r.Cpus[0].TimerSpins);
    }

    [Fact]
    public void On_PointBeforeTheDeadlineStopsTheTaskAndTheSleeperRunsOnTime()
    {
        SimResult r = RunClean(Busy(anticipateUs: 200, hPrio: 90));
        Assert.Equal(
        [
            "0 cpu0 H Spawn", "0 cpu0 H SwitchIn", "0 cpu0 H Block", "1 cpu0 L Spawn", "1 cpu0 L SwitchIn",
            "201 cpu0 L TimerSpin H", "250 cpu0 H Wakeup", "250 cpu0 L Preempt", "250 cpu0 H SwitchIn", "260 cpu0 H Exit",
            "260 cpu0 L SwitchIn", "1060 cpu0 L Exit",
        ], Lines(r));
        Assert.Equal(0, r.Task("H").MaxWaitUs);
        Assert.Equal(1, r.Cpus[0].TimerSpins);
        Assert.Equal(49, r.Cpus[0].TimerSpinUs); // L's 1,000 µs of work end 49 µs later than without: the spin was its time
    }

    /// <summary>
    /// Two sleepers due at one deadline, both woken then (as the kernel's interrupt wakes every timer
    /// due): A (5, the lower id, armed first) would not preempt L, B (90, armed at 101 µs, L's first point after its spawn) would. The
    /// point before the deadline stops L for B. Before, only the tie's lowest id (A) was looked at, and
    /// B waited for L's first point after the deadline; the runtime looked only at the first armed.
    /// </summary>
    [Fact]
    public void TiedSleepers_AHigherOneBehindALowerOne_IsAnticipated()
    {
        SimResult r = RunClean(new SimScenario
        {
            Cpus = 1,
            TickUs = 0,
            AnticipateTimersUs = 200,
            Tasks =
            [
                Task("A", 5, steps: [Sleep(250), Run(10)]),
                Task("L", 10, spawn: 1, steps: [Run(1000, 100)]),
                Task("B", 90, spawn: 50, steps: [Sleep(149), Run(10)]), // runs at L's point at 101 µs
            ],
        });
        Assert.Equal(
        [
            "0 cpu0 A Spawn", "0 cpu0 A SwitchIn", "0 cpu0 A Block", "1 cpu0 L Spawn", "1 cpu0 L SwitchIn", "50 cpu0 B Spawn",
            "101 cpu0 L Preempt", "101 cpu0 B SwitchIn", "101 cpu0 B Block", "101 cpu0 L SwitchIn",
            "201 cpu0 L TimerSpin B", "250 cpu0 A Wakeup", "250 cpu0 B Wakeup", "250 cpu0 L Preempt", "250 cpu0 B SwitchIn", "260 cpu0 B Exit",
            "260 cpu0 L SwitchIn", "1060 cpu0 L Exit", "1060 cpu0 A SwitchIn", "1070 cpu0 A Exit",
        ], Lines(r));
        Assert.Equal(1, r.Cpus[0].TimerSpins);
    }

    [Fact]
    public void Default_IsTheRuntimesDefault()
    {
        var defaults = new RtSchedulerOptions();
        Assert.True(defaults.AnticipateTimers);
        Assert.Equal((long)defaults.TimerLead.TotalMicroseconds, new SimScenario().AnticipateTimersUs);
        Assert.Equal(new SimScenario().AnticipateTimersUs, SimScenario.FromJson("{}").AnticipateTimersUs);
    }

    [Fact]
    public void AHigherWakeupDuringTheSpin_EndsItAtOnce()
    {
        // As the runtime's spin ends on any pending work: M (95) spawned at 220 µs preempts L then, not at 250.
        SimScenario busy = Busy(anticipateUs: 200, hPrio: 90);
        SimResult r = RunClean(new SimScenario
        {
            Cpus = 1,
            TickUs = 0,
            AnticipateTimersUs = 200,
            Tasks = [.. busy.Tasks, Task("M", 95, spawn: 220, steps: [Run(10)])],
        });
        Assert.Equal(
        [
            "0 cpu0 H Spawn", "0 cpu0 H SwitchIn", "0 cpu0 H Block", "1 cpu0 L Spawn", "1 cpu0 L SwitchIn",
            "201 cpu0 L TimerSpin H", "220 cpu0 M Spawn", "220 cpu0 L Preempt", "220 cpu0 M SwitchIn", "230 cpu0 M Exit",
            "230 cpu0 L SwitchIn", "250 cpu0 H Wakeup", "330 cpu0 L Preempt", "330 cpu0 H SwitchIn", "340 cpu0 H Exit",
            "340 cpu0 L SwitchIn", "1040 cpu0 L Exit",
        ], Lines(r));
        Assert.Equal(19, r.Cpus[0].TimerSpinUs); // 201 → 220; the segment end the spin had posted for 250 µs is stale
    }

    [Theory]
    [InlineData("a lower sleeper would not preempt", 200, 5, "", 100)]
    [InlineData("a migrate-disabled runner may send the sleeper elsewhere", 200, 90, "migrate", 100)]
    [InlineData("a preempt-disabled point cannot stop its task", 200, 90, "preempt", 100)]
    [InlineData("the gap is longer than the bound", 50, 90, "", 100)]
    public void NoSpin_WhenTheRulesSayNo(string why, long anticipateUs, int hPrio, string guard, long everyUs)
    {
        SimResult r = RunClean(Busy(anticipateUs, hPrio, guard, everyUs));
        Assert.True(r.Cpus[0].TimerSpins == 0, why);
        Assert.DoesNotContain(r.Trace, e => e.Kind == SimEventKind.TimerSpin);
    }

    [Fact]
    public void Seeded_TheSpinEndsAfterTheSleepersWakeupAtTheSameInstant()
    {
        // Seeds shuffle events of one instant; the spin's end must still see the sleeper woken.
        for (int seed = 1; seed <= 20; seed++)
        {
            SimResult r = Simulator.Run(Busy(anticipateUs: 200, hPrio: 90), seed, new SimOptions());
            Assert.True(r.Violations.Count == 0, r.ToString());
            Assert.Equal(0, r.Task("H").MaxWaitUs);
        }
    }

    [Theory]
    [InlineData(200, 100, 250, 200, true)]   // the next point (300) comes after the deadline
    [InlineData(100, 100, 250, 200, false)]  // the next point (200) still comes before it
    [InlineData(200, 50, 250, 200, true)]    // a point that lands on the deadline would do, but this one is earlier
    [InlineData(250, 100, 250, 200, false)]  // the deadline is now: it fires, nothing to anticipate
    [InlineData(200, 300, 250, 200, false)]  // the gap is longer than the bound
    [InlineData(200, 100, 250, 0, false)]    // bound 0: off
    public void PointAnticipates_IsTheLastPointBeforeTheDeadline(long now, long gap, long deadline, long maxGap, bool expected) =>
        Assert.Equal(expected, TimerRules.PointAnticipates(now, gap, deadline, maxGap));

    [Theory]
    [InlineData(90, true, 10, -1, false, true)]
    [InlineData(10, true, 10, -1, false, false)]  // equal priority never preempts
    [InlineData(90, true, 10, 95, false, false)]  // a queued task outranks the sleeper
    [InlineData(90, false, 10, -1, false, false)] // the sleeper may not run here
    [InlineData(90, true, 10, -1, true, false)]   // a pinned runner
    public void SleeperWillPreempt_Cases(int sleeper, bool allowed, int running, int queued, bool pinned, bool expected) =>
        Assert.Equal(expected, TimerRules.SleeperWillPreempt(sleeper, allowed, running, queued, pinned));

    private static SimScenario Busy(long anticipateUs, int hPrio, string guard = "", long everyUs = 100) => new()
    {
        Cpus = 1,
        Policy = BalancePolicy.WorkConserving,
        TickUs = 0,
        AnticipateTimersUs = anticipateUs,
        Tasks =
        [
            Task("H", hPrio, steps: [Sleep(250), Run(10)]),
            Task("L", 10, spawn: 1, steps: guard switch
            {
                "migrate" => [MD, Run(1000, everyUs), ME],
                "preempt" => [PD, Run(1000, everyUs), PE],
                _ => [Run(1000, everyUs)],
            }),
        ],
    };
}
