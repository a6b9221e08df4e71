using RtRuntime;
using RtRuntime.Simulation;
using RtRuntime.Tasks;
using static RtRuntime.Tests.Simulation.SimBuild;

namespace RtRuntime.Tests.Simulation;

/// <summary>
/// A running task raised to a priority at which tasks already wait goes behind them, as
/// <c>__sched_setscheduler</c> and <c>rt_mutex_setprio</c> enqueue a raised task (the running one
/// included: an RT task stays on its list while it runs) at the tail of its new priority, and a lowered
/// one at the head: the simulator's side of the threaded <c>RaisedRunningTaskOrderTests</c>.
/// </summary>
public class SimRaisedRunningTaskOrderTests
{
    [Fact]
    public void Run_ARunningTaskRaisedToTheLevelOfAQueuedTask_GoesBehindIt()
    {
        // One CPU. T (50) runs preempt-disabled when U (60) wakes at 5 µs; T raises itself to 60 at 10 µs:
        // behind U, so its preempt_enable at 20 µs runs U, then T.
        SimResult r = RunClean(Scenario(1, BalancePolicy.WorkConserving,
            Task("T", 50, cpu: 0, steps: [PD, Run(10), SimStep.SetPriority(60), Run(10), PE, Run(10)]),
            Task("U", 60, cpu: 0, spawn: 5, steps: [Run(10)])));

        Assert.Equal(
        [
            "0 cpu0 T Spawn", "0 cpu0 T SwitchIn", "5 cpu0 U Spawn",
            "20 cpu0 T Preempt", "20 cpu0 U SwitchIn", "30 cpu0 U Exit", "30 cpu0 T SwitchIn", "40 cpu0 T Exit",
        ], Lines(r));
    }

    [Fact]
    public void Run_ARunningTaskRaisedBySetSchedulerToTheLevelOfAQueuedTask_GoesBehindIt()
    {
        // As above through setScheduler (a Normal task made FIFO 60 goes to the tail of 60 too).
        SimResult r = RunClean(Scenario(1, BalancePolicy.WorkConserving,
            Task("T", 0, cpu: 0, steps: [PD, Run(10), SimStep.SetScheduler(SchedPolicy.Fifo, 60), Run(10), PE, Run(10)]),
            Task("U", 60, cpu: 0, spawn: 5, steps: [Run(10)])));

        Assert.Equal(
        [
            "0 cpu0 T Spawn", "0 cpu0 T SwitchIn", "5 cpu0 U Spawn",
            "20 cpu0 T Preempt", "20 cpu0 U SwitchIn", "30 cpu0 U Exit", "30 cpu0 T SwitchIn", "40 cpu0 T Exit",
        ], Lines(r));
    }

    [Fact]
    public void Run_ARunningTaskRaisedByAnotherTaskToTheLevelOfAQueuedTask_GoesBehindIt()
    {
        // CPU0: T (50) preempt-disabled, U (60, pinned to CPU0) wakes at 5 µs. R on CPU1 raises T to 60 at
        // 10 µs: T takes it at its preempt_enable (20 µs), before its switch decision, and goes behind U.
        SimResult r = RunClean(Scenario(2, BalancePolicy.WorkConserving,
            Task("T", 50, cpu: 0, affinity: "0", steps: [PD, Run(20), PE, Run(10)]),
            Task("U", 60, cpu: 0, spawn: 5, affinity: "0", steps: [Run(10)]),
            Task("R", 70, cpu: 1, spawn: 10, affinity: "1", steps: [SimStep.SetPriority("T", 60)])));

        string[] lines = Lines(r);
        Assert.Equal(
        [
            "0 cpu0 T Spawn", "0 cpu0 T SwitchIn", "5 cpu0 U Spawn", "10 cpu1 R Spawn", "10 cpu1 R SwitchIn", "10 cpu1 R Exit",
            "20 cpu0 T Preempt", "20 cpu0 U SwitchIn", "30 cpu0 U Exit", "30 cpu0 T SwitchIn", "40 cpu0 T Exit",
        ], lines);
    }

    [Fact]
    public void Run_ATaskQueuedAtThatPriorityAfterTheRaise_GoesBehindTheRaisedTask()
    {
        // T (50) preempt-disabled: U (60) wakes at 5 µs, T raises itself to 60 at 10 µs (behind U), W (60)
        // wakes at 15 µs (behind T). The kernel's list of 60 is U, T, W: they run in that order.
        SimResult r = RunClean(Scenario(1, BalancePolicy.WorkConserving,
            Task("T", 50, cpu: 0, steps: [PD, Run(10), SimStep.SetPriority(60), Run(10), PE, Run(10)]),
            Task("U", 60, cpu: 0, spawn: 5, steps: [Run(10)]),
            Task("W", 60, cpu: 0, spawn: 15, steps: [Run(10)])));

        Assert.Equal(
        [
            "0 cpu0 T Spawn", "0 cpu0 T SwitchIn", "5 cpu0 U Spawn", "15 cpu0 W Spawn",
            "20 cpu0 T Preempt", "20 cpu0 U SwitchIn", "30 cpu0 U Exit", "30 cpu0 T SwitchIn", "40 cpu0 T Exit",
            "40 cpu0 W SwitchIn", "50 cpu0 W Exit",
        ], Lines(r));
    }

    [Fact]
    public void Run_ARaisedTaskLoweredBackToTheLevel_StaysAheadOfTheQueuedTask()
    {
        // T (50) preempt-disabled: U (60) wakes at 5 µs; T raises itself to 60 (behind U), then to 70 (alone
        // there), then lowers itself to 60: a lowered task goes to the head of its new priority
        // (ENQUEUE_HEAD), ahead of U, so the pending reschedule at its preempt_enable picks T again.
        SimResult r = RunClean(Scenario(1, BalancePolicy.WorkConserving,
            Task("T", 50, cpu: 0, steps: [PD, Run(10), SimStep.SetPriority(60), SimStep.SetPriority(70), SimStep.SetPriority(60), Run(10), PE, Run(10)]),
            Task("U", 60, cpu: 0, spawn: 5, steps: [Run(10)])));

        Assert.Equal(
        [
            "0 cpu0 T Spawn", "0 cpu0 T SwitchIn", "5 cpu0 U Spawn",
            "30 cpu0 T Exit", "30 cpu0 U SwitchIn", "40 cpu0 U Exit",
        ], Lines(r));
    }

    [Fact]
    public void Run_ARaiseToALevelNothingWaitsAt_KeepsTheTaskRunning()
    {
        // T (50) preempt-disabled: U (60) wakes at 5 µs; T raises itself to 70, above U: it runs on.
        SimResult r = RunClean(Scenario(1, BalancePolicy.WorkConserving,
            Task("T", 50, cpu: 0, steps: [PD, Run(10), SimStep.SetPriority(70), Run(10), PE, Run(10)]),
            Task("U", 60, cpu: 0, spawn: 5, steps: [Run(10)])));

        Assert.Equal(
        [
            "0 cpu0 T Spawn", "0 cpu0 T SwitchIn", "5 cpu0 U Spawn",
            "30 cpu0 T Exit", "30 cpu0 U SwitchIn", "40 cpu0 U Exit",
        ], Lines(r));
    }

    [Fact]
    public void Run_ARunningOwnerBoostedToTheLevelOfAQueuedTask_GoesBehindIt()
    {
        // CPU1: L (10) holds m, preempt-disabled; U (60, pinned to CPU1) wakes at 5 µs. H (60) waits for m
        // on CPU0 at 10 µs: L takes the boost to 60 at its preempt_enable (20 µs), and rt_mutex_setprio
        // puts it at the tail of 60, behind U, which runs first.
        SimResult r = RunClean(Scenario(2, BalancePolicy.WorkConserving,
            Task("L", 10, cpu: 1, affinity: "1", steps: [SimStep.Lock("m"), PD, Run(20), PE, Run(10), SimStep.Unlock("m"), Run(10)]),
            Task("U", 60, cpu: 1, spawn: 5, affinity: "1", steps: [Run(10)]),
            Task("H", 60, cpu: 0, spawn: 10, affinity: "0", steps: [SimStep.Lock("m"), Run(10), SimStep.Unlock("m")])));

        Assert.Equal(
        [
            "0 cpu1 L Spawn", "0 cpu1 L SwitchIn", "5 cpu1 U Spawn", "10 cpu0 H Spawn", "10 cpu0 H SwitchIn", "10 cpu0 H Block",
            "20 cpu1 L PiSetPrio 60", "20 cpu1 L Preempt", "20 cpu1 U SwitchIn", "30 cpu1 U Exit", "30 cpu1 L SwitchIn",
            "40 cpu0 H Wakeup", "40 cpu1 L PiSetPrio 10", "40 cpu0 H SwitchIn", "50 cpu1 L Exit", "50 cpu0 H Exit",
        ], Lines(r));
    }
}
