using RtRuntime.Simulation;
using RtRuntime.Tasks;
using static RtRuntime.Tests.Simulation.SimBuild;

namespace RtRuntime.Tests.Simulation;

/// <summary>
/// SCHED_RR's slice is the task's own (<c>p->rt.time_slice</c>): preempted by a higher task, it keeps the
/// part it used, so a round-robin task preempted more often than once per slice still rotates to its
/// peer, in the simulator as in the threaded runtime (<c>RoundRobinSliceTests</c>).
/// </summary>
public class SimRoundRobinSliceTests
{
    [Fact]
    public void Run_RoundRobinTaskPreemptedMoreOftenThanItsSlice_StillRotatesToItsPeer()
    {
        // H wakes every 22 µs and runs 2 µs; A's slice is 30 µs, so no stretch of A between two of H's
        // runs uses a slice up: only the sum of them does.
        SimStep[] hSteps = [.. Enumerable.Range(0, 10).SelectMany(_ => new[] { Sleep(20), Run(2) })];
        var scenario = new SimScenario
        {
            Cpus = 1,
            TickUs = 0,
            RoundRobinSliceUs = 30,
            Tasks =
            [
                SimScenarios.WithPolicy(Task("A", 20, cpu: 0, steps: [Run(150, 5)]), SchedPolicy.RoundRobin),
                SimScenarios.WithPolicy(Task("B", 20, cpu: 0, steps: [Run(10, 5)]), SchedPolicy.RoundRobin),
                Task("H", 50, cpu: 0, steps: hSteps),
            ],
        };

        string[] lines = Lines(RunClean(scenario));

        int bRuns = Array.FindIndex(lines, l => l.EndsWith(" B SwitchIn", StringComparison.Ordinal));
        int aEnds = Array.FindIndex(lines, l => l.EndsWith(" A Exit", StringComparison.Ordinal));
        Assert.True(bRuns >= 0 && aEnds >= 0, string.Join('\n', lines));
        Assert.True(bRuns < aEnds, "B ran only after A ended:\n" + string.Join('\n', lines));
        // A ran 0-5, 5-25 and 27-32 between H's runs: its 30 µs slice ends at its point at 32 (a slice
        // restarted at each switch-in would never end, and B would wait for A's exit).
        Assert.Equal(["27 cpu0 A SwitchIn", "32 cpu0 A Preempt", "32 cpu0 B SwitchIn", "42 cpu0 B Exit", "42 cpu0 A SwitchIn"], lines[13..18]);
    }
}
