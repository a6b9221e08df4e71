using RtRuntime;
using RtRuntime.Cpus;
using RtRuntime.Simulation;
using RtRuntime.Tasks;
using static RtRuntime.Tests.Simulation.SimBuild;

namespace RtRuntime.Tests.Simulation;

/// <summary>
/// A push of the running task is requested as the threaded <c>Balancer.RequestPushRunning</c> (and
/// get_push_task) does: when none is in flight and the runner is migratable. The tick asks without
/// looking for a CPU below the runner; the stopper looks at the runner's next preemption point
/// (<c>BalanceRules.StopTargetAcceptable</c>), so a CPU that drops meanwhile takes the runner. A pull
/// asks only when a CPU runs below the runner already (<c>BalanceRules.PushRunningHasTarget</c>).
/// </summary>
public class SimPushRequestTests
{
    // L(10) is preempted on CPU0 inside migrate_disable by H(50) while CPU1 runs X(60): no CPU is below
    // H. Y(5) waits on CPU1. The tick at 1000 sees the pile-up (WorkConserving) and asks CPU0 to push
    // H; X exits at 1003 and CPU1 runs Y(5); at H's next point (1004) the stopper finds CPU1 below H
    // and below the pinned L (a repair's target must run below the pinned task: with Y above L, H
    // would only make Y wait instead of L).
    private static SimScenario DropBetweenRequestAndPoint() => new()
    {
        Cpus = 2,
        Policy = BalancePolicy.WorkConserving,
        TickUs = 1000,
        AnticipateTimersUs = 0,
        Tasks =
        [
            Task("X", 60, cpu: 1, steps: [Run(1003)]),
            Task("L", 10, cpu: 0, steps: [MD, Run(3000, every: 10), ME]),
            Task("H", 50, cpu: 0, spawn: 5, steps: [Run(2000, every: 7)]),
            Task("Y", 5, cpu: 1, spawn: 7, steps: [Run(500, every: 10)]),
        ],
    };

    [Fact]
    public void Run_TickRequestsThePushWithNoCpuBelowYet_TheRunnerMovesToACpuThatDropsBeforeItsPoint()
    {
        SimResult r = RunClean(DropBetweenRequestAndPoint());

        // Before: the simulator requested the push only when a CPU was below H already, so the tick at
        // 1000 did nothing; H kept CPU0 until Y exited at 1503 and CPU1's pull saw the pile-up.
        Assert.Equal(
        [
            "0 cpu1 X Spawn", "0 cpu1 X SwitchIn", "0 cpu0 L Spawn", "0 cpu0 L SwitchIn", "0 cpu0 L MigrateDisable",
            "5 cpu0 H Spawn", "7 cpu1 Y Spawn", "10 cpu0 L Preempt", "10 cpu0 H SwitchIn",
            "1000 cpu0 H PushRequested", "1003 cpu1 X Exit", "1003 cpu1 Y SwitchIn",
            "1004 cpu0->cpu1 H PushRunning", "1004 cpu0 L SwitchIn", "1013 cpu1 Y Preempt", "1013 cpu1 H SwitchIn",
            "2019 cpu1 H Exit", "2019 cpu1 Y SwitchIn", "2509 cpu1 Y Exit", "3994 cpu0 L MigrateEnable", "3994 cpu0 L Exit",
        ], Lines(r));
        Assert.Equal(1, r.RunningPushes);
    }

    [Fact]
    public void Run_TheStopperMovesTheRunner_CountsItAsAPreemptionOfTheRunner()
    {
        // The scenario above: the stopper moves H off CPU0 at 1004. It preempted H to move it
        // (__schedule(SM_PREEMPT), prev != next: nivcsw), as the threaded Balancer.RunStopWork counts.
        SimResult r = RunClean(DropBetweenRequestAndPoint());

        Assert.Contains("1004 cpu0->cpu1 H PushRunning", Lines(r));
        Assert.Equal(1, r.Task("H").Preemptions); // the stopper's; nothing else preempted H
        Assert.Equal(1, r.Task("L").Preemptions); // a control: H preempted it at 10
        Assert.Equal(1, r.Task("Y").Preemptions); // H preempted it at 1013
    }

    // The generated scenario (PCG stream 527, shrunk) that looped at 70 µs. T2(3) waits pinned on CPU0 behind
    // T5(52, allowed on CPUs 0 and 1), while CPU1 runs T0(73) and CPU2 is idle; T1(69) sleeps until 75
    // and will preempt T5 on CPU0, so at 70 T5's point becomes a spin to 75 (timer anticipation, 20 µs).
    // CPU2, idle, pulled after every event, saw the pile-up and asked CPU0 to push T5, which no CPU
    // runs below: the request cut the spin, the stopper found nothing at the point, the point spun
    // again, and CPU2 asked again, with no time passing.
    private static SimScenario SpinCutByARequestWithNoTarget() => new()
    {
        Cpus = 3,
        Policy = BalancePolicy.WorkConserving,
        TickUs = 0,
        AnticipateTimersUs = 20,
        RoundRobinSliceUs = 30,
        EndUs = 20_000,
        Tasks =
        [
            Task("T0", 73, cpu: 1, spawn: 38, affinity: "0-2", steps: [Run(17, every: 21), Run(23, every: 21)]),
            new SimTaskSpec { Name = "T1", Priority = 69, Policy = SchedPolicy.RoundRobin, SpawnUs = 47, Affinity = CpuSet.Parse("0-1"), Steps = [SimStep.Signal("a"), Sleep(22)] },
            new SimTaskSpec { Name = "T2", Priority = 3, Policy = SchedPolicy.RoundRobin, WakeCpu = 0, SpawnUs = 13, Affinity = CpuSet.Parse("0,2"), Steps = [MD, SimStep.Wait("a")] },
            Task("T5", 52, cpu: 1, spawn: 11, affinity: "0-1", steps: [Run(45, every: 14), Run(57, every: 7)]),
        ],
    };

    [Fact]
    public void Run_IdlePullerSeesAPileUpWhoseRunnerHasNoCpuBelow_AsksForThePushOnlyOnceACpuDrops()
    {
        SimResult r = Simulator.Run(SpinCutByARequestWithNoTarget(), 0, new SimOptions { MaxEvents = 100_000 });

        Assert.True(r.Events < 100_000, $"the run stopped at MaxEvents ({r.Events} events): a loop");
        Assert.Empty(r.Violations);

        // The spin runs to T1's wakeup; the push is asked for when T0 leaves CPU1 (at 79), and runs at T5's next point.
        Assert.Equal(
        [
            "53 cpu0 T5 Preempt", "53 cpu0 T1 SwitchIn", "53 cpu0 T2 Wakeup", "53 cpu0 T1 Block", "53 cpu0 T5 SwitchIn",
            "70 cpu0 T5 TimerSpin T1", "75 cpu0 T1 Wakeup", "75 cpu0 T5 Preempt", "75 cpu0 T1 SwitchIn", "75 cpu0 T1 Exit", "75 cpu0 T5 SwitchIn",
            "79 cpu1 T0 Exit", "79 cpu0 T5 PushRequested", "82 cpu0->cpu1 T5 PushRunning", "82 cpu0 T2 SwitchIn",
        ], Lines(r).SkipWhile(l => !l.StartsWith("53 ", StringComparison.Ordinal)).Take(15));
    }

    // P (10 by default) sleeps pinned on CPU0 until 20 while R(50, allowed on CPUs 0 and 1) runs there
    // from 5 (points at 12, 19, 26, …) and Q runs on CPU1 (by default for 500 µs, a point every 10).
    private static SimScenario PinnedWakesBehindRunner(int qPrio, int pPrio = 10, string? pAffinity = null, SimStep[]? qSteps = null) => new()
    {
        Cpus = 2,
        Policy = BalancePolicy.WorkConserving,
        TickUs = 0,
        AnticipateTimersUs = 0,
        Tasks =
        [
            Task("Q", qPrio, cpu: 1, steps: qSteps ?? [Run(500, every: 10)]),
            Task("P", pPrio, cpu: 0, affinity: pAffinity, steps: [MD, Sleep(20), Run(30), ME]),
            Task("R", 50, cpu: 0, spawn: 5, affinity: "0-1", steps: [Run(300, every: 7)]),
        ],
    };

    [Fact]
    public void Run_APinnedTaskWakesBehindARunnerThatACpuBelowItCouldTake_TheRunnerMovesThere()
    {
        SimResult r = RunClean(PinnedWakesBehindRunner(qPrio: 5));

        // Before, P waited for R to end (305): no CPU was idle to pull, and the tick was off.
        Assert.Equal(
        [
            "20 cpu0 P Wakeup", "20 cpu0 R PushRequested", "26 cpu0->cpu1 R PushRunning", "26 cpu0 P SwitchIn",
        ], Lines(r).Where(l => l.StartsWith("20 ", StringComparison.Ordinal) || l.StartsWith("26 ", StringComparison.Ordinal)).Where(l => !l.Contains(" Q ", StringComparison.Ordinal)));
    }

    [Fact]
    public void Run_APinnedTaskWakesBehindARunnerWhoseOnlyTargetRunsAboveIt_TheRunnerStays()
    {
        // Q(20) outranks P: moving R onto CPU1 would make Q wait instead of P.
        SimResult r = RunClean(PinnedWakesBehindRunner(qPrio: 20));

        Assert.Empty(r.TraceLines(SimEventKind.PushRequested));
        Assert.Contains("305 cpu0 P SwitchIn", Lines(r));
    }

    [Fact]
    public void Run_APinnedTaskWakesBehindARunnerOfItsOwnPriority_NoRepairIsAsked()
    {
        // P(50), pinned on CPU0, wakes behind R(50) while CPU1 runs Q(5): equal priorities are
        // check_preempt_equal_prio's to decide, not the pinned wakeup's repair (the threaded Activate
        // tries one or the other, never both).
        SimScenario s = PinnedWakesBehindRunner(qPrio: 5, pPrio: 50, pAffinity: "0-1");

        Assert.Empty(RunClean(s).TraceLines(SimEventKind.PushRequested));
    }

    [Fact]
    public void Run_APinnedWakeupsTargetRisesAboveThePinnedTaskBeforeTheRunnersPoint_TheStopperKeepsTheRunner()
    {
        // As above with Q(5), but Q raises itself to 30 at 21, after the request (20) and before R's next
        // point (26): the stopper holds the target to the request's bound (below P's 10), so R stays
        // instead of making Q wait for P.
        SimScenario s = PinnedWakesBehindRunner(qPrio: 5, qSteps: [Run(21, every: 10), SimStep.SetPriority(30), Run(500, every: 10)]);

        SimResult r = RunClean(s);
        Assert.Equal(["20 cpu0 R PushRequested"], r.TraceLines(SimEventKind.PushRequested));
        Assert.Empty(r.TraceLines(SimEventKind.PushRunning));
        Assert.Contains("305 cpu0 P SwitchIn", Lines(r));
    }
}
