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

        cpu.Figures.TimerSpins++;
        Emit(cpu.Id, task, SimEventKind.TimerSpin, other: sleeper.Name);
        task.SegmentUs = 0; // the spin computes nothing of the task's Run step
        task.SpinStartUs = _now;
        _spinningCpus++;
        Post(sleeper.SleepUntilUs, SimEventType.SegmentEnd, task, afterOthers: true, gen: ++task.SegmentGen); // after the sleeper's own wakeup at that instant
        return true;
    }

    // CPUs whose running task is stopped in a spin.
    private int _spinningCpus;

    /// <summary>The spin of <paramref name="task"/>'s CPU ends now: its time goes to the CPU's figures.</summary>
    private void EndTimerSpin(SimTask task)
    {
        _cpus[task.Cpu].Figures.TimerSpinUs += _now - task.SpinStartUs;
        task.SpinStartUs = -1;
        _spinningCpus--;
    }

    /// <summary>
    /// After an event: a spin ends early, at once, when its CPU has other work for the stopped task's
    /// point (a task queued above it, or stop work), as the runtime's spin ends on any pending bit but
    /// the near-timer one. The point then runs now (a new segment end; the one at the deadline is stale).
    /// </summary>
    private void CutTimerSpins()
    {
        foreach (SimCpu cpu in _cpus)
        {
            if (cpu.Running is { SpinStartUs: >= 0 } task && (BalanceRules.ShouldPreempt(cpu.QueuedTop, task.Prio) || cpu.StopPending || cpu.RunsBehindQueued))
            {
                EndTimerSpin(task);
                Post(_now, SimEventType.SegmentEnd, task, gen: ++task.SegmentGen);
            }
        }
    }

    /// <summary>
    /// The sleeper whose timer fires first on <paramref name="cpu"/> (its last CPU); null when none. Of
    /// sleepers due at one deadline (all woken then), the one most likely to preempt: one whose mask
    /// allows the CPU first, then the highest priority, then the lowest id (the runtime's
    /// <c>TimerQueue.TopPrioDueFirst</c>).
    /// </summary>
    private SimTask? EarliestSleeperOn(int cpu)
    {
        SimTask? earliest = null;
        foreach (SimTask t in _sleeping)
        {
            if (t.Cpu == cpu && (earliest is null || t.SleepUntilUs < earliest.SleepUntilUs || (t.SleepUntilUs == earliest.SleepUntilUs && RanksAbove(t, earliest, cpu))))
            {
                earliest = t;
            }
        }

        return earliest;
    }

    // Between two sleepers due at one instant on cpu: allowed there first, then higher priority, then lower id.
    private static bool RanksAbove(SimTask t, SimTask other, int cpu)
    {
        bool allowed = t.Mask.Contains(cpu), otherAllowed = other.Mask.Contains(cpu);
        return allowed != otherAllowed ? allowed : t.Prio != other.Prio ? t.Prio > other.Prio : t.Id < other.Id;
    }
}
