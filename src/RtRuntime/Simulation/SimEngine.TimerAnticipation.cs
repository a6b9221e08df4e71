using RtRuntime.Scheduling;

namespace RtRuntime.Simulation;

/// <summary>
/// Timer anticipation (<see cref="SimScenario.AnticipateTimersUs"/>, the runtime's
/// <c>Cpus/Cpu.TimerAnticipation.cs</c>): the same <see cref="TimerRules"/> decide whether a point
/// stops its task before a sleeper's deadline; the stopped task's CPU then spins to the deadline.
/// </summary>
internal sealed partial class SimEngine
{
    /// <summary>
    /// Called as <paramref name="task"/> starts a Run segment of <see cref="SimTask.SegmentUs"/>: when it
    /// comes straight from a preemption point (no switch since) and the next point would come after the
    /// deadline of a sleeper on its CPU that will preempt it, the segment becomes a spin to that deadline
    /// (no progress), ending in a point after the sleeper's wakeup. Returns true when it did.
    /// </summary>
    private bool AnticipateTimer(SimTask task)
    {
        if (_scenario.AnticipateTimersUs == 0 || task.PointUs != _now || task.PointGen != task.SwitchGen || task.PreemptCount != 0)
        {
            return false;
        }

        SimCpu cpu = _cpus[task.Cpu];
        SimTask? sleeper = EarliestSleeperOn(cpu.Id);
        if (sleeper is null
            || !TimerRules.PointAnticipates(_now, task.SegmentUs, sleeper.SleepUntilUs, _scenario.AnticipateTimersUs)
            || !TimerRules.SleeperWillPreempt(sleeper.Prio, sleeper.Mask.Contains(cpu.Id), task.Prio, cpu.QueuedTop, task.MigrationDisabled > 0))
        {
            return false;
        }

        long spin = sleeper.SleepUntilUs - _now;
        cpu.Figures.TimerSpins++;
        cpu.Figures.TimerSpinUs += spin;
        Emit(cpu.Id, task, SimEventKind.TimerSpin, other: sleeper.Name);
        task.SegmentUs = 0; // the spin computes nothing of the task's Run step
        Post(sleeper.SleepUntilUs, SimEventType.SegmentEnd, task, afterOthers: true); // after the sleeper's own wakeup at that instant
        return true;
    }

    /// <summary>The sleeper whose timer fires first on <paramref name="cpu"/> (its last CPU), lowest id on ties; null when none.</summary>
    private SimTask? EarliestSleeperOn(int cpu)
    {
        SimTask? earliest = null;
        foreach (SimTask t in _sleeping)
        {
            if (t.Cpu == cpu && (earliest is null || t.SleepUntilUs < earliest.SleepUntilUs || (t.SleepUntilUs == earliest.SleepUntilUs && t.Id < earliest.Id)))
            {
                earliest = t;
            }
        }

        return earliest;
    }
}
