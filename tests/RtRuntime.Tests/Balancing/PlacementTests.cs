using RtRuntime.Cpus;
using RtRuntime.Scheduling;

namespace RtRuntime.Tests.Balancing;

/// <summary>
/// <see cref="Placement.SelectCpu{TCpu}"/>'s shortcut for a task allowed on one CPU gives what the
/// general rules give, for every state of that CPU and of the others.
/// </summary>
public class PlacementTests
{
    private readonly record struct State(int Id, bool Active, int TopPrio, bool RunningPinned) : ICpuState;

    [Fact]
    public void SoleCpuShortcut_AgreesWithTheGeneralRules()
    {
        int checkedCases = 0;
        foreach (bool active in new[] { true, false })
        {
            foreach (int top in new[] { -1, 10, 50, 90 })
            {
                foreach (bool pinned in new[] { false, true })
                {
                    foreach (int prev in new[] { -1, 0, 1, 2 })
                    {
                        foreach (bool spare in new[] { false, true })
                        {
                            State[] cpus = [new(0, true, -1, false), new(1, active, top, pinned), new(2, true, 20, false)];
                            int general = Placement.SelectCpu<State>(50, CpuSet.Of(1), -1, prev, cpus, spare);
                            int shortcut = Placement.SelectCpu<State>(50, CpuSet.Of(1), -1, prev, cpus, spare, soleCpu: 1);
                            Assert.Equal(general, shortcut);
                            Assert.Equal(active ? 1 : -1, shortcut);
                            checkedCases++;
                        }
                    }
                }
            }
        }

        Assert.Equal(128, checkedCases);
    }
}
