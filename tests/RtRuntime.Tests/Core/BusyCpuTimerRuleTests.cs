using RtRuntime.Scheduling;

namespace RtRuntime.Tests.Core;

/// <summary>
/// The busy-CPU timer thread's rule (<see cref="TimerRules.ForBusyCpu"/>): before the timer lead it
/// wakes at the lead, so that the CPU's points start polling; a polling CPU fires its deadlines itself,
/// so the thread comes back only at the backstop, 25 µs after the deadline, and never spins to it;
/// without a lead it flags the CPU at the deadline (spinning there under SpinBeforePark).
/// Times in µs: now = 1,000, lead 200, backstop 25.
/// </summary>
public class BusyCpuTimerRuleTests
{
    private const long Now = 1_000, Lead = 200, Backstop = 25, None = long.MaxValue;

    [Theory]
    [InlineData(1_300, 1_300, Lead, false, false, 1_100, false)] // before the lead: wake at its start
    [InlineData(1_150, 1_150, Lead, true, false, 1_175, false)]  // polling: the backstop, not the deadline
    [InlineData(990, 990, Lead, true, false, 1_015, false)]      // passed, within the backstop: the points fire it
    [InlineData(975, 975, Lead, true, true, None, false)]        // the backstop passed: flag the CPU
    [InlineData(1_150, None, Lead, true, false, None, false)]    // polling for a sleeper the idle duty CPU covers
    [InlineData(1_100, 1_100, 0, false, false, 1_100, true)]     // no lead: the deadline itself, on time
    [InlineData(999, 999, 0, false, true, None, false)]          // no lead, passed: flag the CPU
    [InlineData(None, None, Lead, false, false, None, false)]    // nothing armed
    public void ForBusyCpu_Cases(long near, long deadline, long lead, bool poll, bool fire, long next, bool spin) =>
        Assert.Equal(new BusyCpuTimer(poll, fire, next, spin), TimerRules.ForBusyCpu(Now, near, deadline, lead, Backstop));
}
