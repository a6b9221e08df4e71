using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Scheduling;

/// <summary>
/// The balancing decisions of kernel/sched/rt.c and core.c as pure functions (no threads, clocks or
/// locks), shared by the threaded runtime and the deterministic simulator. Priorities are user RT
/// priorities: 1..99 RT (higher is more important), 0 normal, −1 for "nothing" (an idle CPU, an
/// empty queue). Callers gather the inputs under their own synchronisation and act on the answer.
/// </summary>
public static class BalanceRules
{
    /// <summary>
    /// wakeup_preempt_rt / need_resched: a runnable task preempts the running one only when its priority is
    /// strictly higher; equal priority never preempts (FIFO order among equals; but see
    /// <see cref="EqualPriorityMovesRunner"/>). An idle CPU (−1) is preempted by anything.
    /// </summary>
    /// <param name="candidatePrio">The waking or queued task's priority (the queue's top).</param>
    /// <param name="runningPrio">The running task's priority, or −1 when the CPU is idle.</param>
    public static bool ShouldPreempt(int candidatePrio, int runningPrio) => candidatePrio > runningPrio;

    /// <summary>
    /// check_preempt_equal_prio (wakeup_preempt_rt): a task waking at the running task's priority does
    /// not preempt it, unless the woken task has no CPU busy below it elsewhere (find_lowest_rq finds
    /// none: it is affine to this CPU, or every other allowed CPU is as busy) while the runner has one.
    /// Then the runner is moved there (here by the stopper at its next preemption point; the kernel
    /// requeues the woken task at the head, reschedules, and pushes the preempted runner), so both run.
    /// </summary>
    /// <param name="wakingPrio">The woken task's priority.</param>
    /// <param name="wakingElsewhereTopPrio">The <see cref="ICpuState.TopPrio"/> of the lowest other CPU the woken task may run on, or <see cref="int.MaxValue"/> when there is none.</param>
    /// <param name="runnerPrio">The running task's priority, or −1 when the CPU is idle.</param>
    /// <param name="runnerElsewhereTopPrio">The <see cref="ICpuState.TopPrio"/> of the lowest other CPU the runner may run on, or <see cref="int.MaxValue"/> when there is none.</param>
    public static bool EqualPriorityMovesRunner(int wakingPrio, int wakingElsewhereTopPrio, int runnerPrio, int runnerElsewhereTopPrio) =>
        wakingPrio == runnerPrio && wakingElsewhereTopPrio >= wakingPrio && runnerElsewhereTopPrio < runnerPrio;

    /// <summary>
    /// pull_rt_task's candidate test, ignoring migrate-disable: the task may run on the puller (its
    /// <c>cpus_mask</c>, as 95158a89dd50 balances over the full mask), outranks everything queued on the
    /// puller, and does not outrank its source's running task (else the source runs it itself). A
    /// migrate-disabled candidate cannot be pulled: it is a pile-up, see <see cref="MayRepairPileUp"/>.
    /// </summary>
    /// <param name="taskPrio">The queued task's priority.</param>
    /// <param name="taskAffinity">The queued task's requested affinity (<c>cpus_mask</c>).</param>
    /// <param name="puller">The pulling CPU's id.</param>
    /// <param name="pullerQueuedTop">The highest priority queued on the puller (its running task has left), or −1.</param>
    /// <param name="sourceRunningPrio">The priority running on the source CPU, or −1.</param>
    public static bool IsPullCandidate(int taskPrio, CpuSet taskAffinity, int puller, int pullerQueuedTop, int sourceRunningPrio) =>
        taskPrio > pullerQueuedTop && taskPrio <= sourceRunningPrio && taskAffinity.Contains(puller);

    /// <summary>
    /// Whether the puller may take the queued task: <see cref="IsPullCandidate"/> and not migrate-disabled
    /// (<c>is_migration_disabled(p)</c>).
    /// </summary>
    /// <param name="taskPrio">The queued task's priority.</param>
    /// <param name="taskAffinity">The queued task's requested affinity (<c>cpus_mask</c>).</param>
    /// <param name="migrationDisabled">The queued task's migrate-disable depth.</param>
    /// <param name="puller">The pulling CPU's id.</param>
    /// <param name="pullerQueuedTop">The highest priority queued on the puller, or −1.</param>
    /// <param name="sourceRunningPrio">The priority running on the source CPU, or −1.</param>
    public static bool CanPull(int taskPrio, CpuSet taskAffinity, int migrationDisabled, int puller, int pullerQueuedTop, int sourceRunningPrio) =>
        migrationDisabled == 0 && IsPullCandidate(taskPrio, taskAffinity, puller, pullerQueuedTop, sourceRunningPrio);

    /// <summary>
    /// Whether a pile-up (a migrate-disabled task waiting under a higher-priority runner while some CPU
    /// could take one of them) may be repaired by moving the RUNNING task away (a7c81556ec4d).
    /// <see cref="BalancePolicy.WorkConserving"/>: whenever it is noticed (a preemption, a pull by any
    /// CPU, idle ones included, the periodic tick). <see cref="BalancePolicy.KernelFaithful"/>: only on a
    /// pull by a CPU that has just dropped from an RT priority (balance_rt runs for an RT prev only;
    /// scenario 13). <see cref="BalancePolicy.NoPushRunning"/>: never.
    /// </summary>
    /// <param name="policy">The balance policy.</param>
    /// <param name="onPull">True when a CPU noticed the pile-up while pulling for itself.</param>
    /// <param name="pullerPreviousPrio">On a pull, the priority the puller ran before it dropped, or −1.</param>
    public static bool MayRepairPileUp(BalancePolicy policy, bool onPull, int pullerPreviousPrio) => policy switch
    {
        BalancePolicy.NoPushRunning => false,
        BalancePolicy.KernelFaithful => onPull && pullerPreviousPrio > 0,
        _ => true,
    };

    /// <summary>
    /// get_push_task: a push of the running task may be requested only when none is in flight on its CPU
    /// (<c>push_busy</c>), the runner is not itself migrate-disabled (scenario 15) and may run elsewhere
    /// (<c>nr_cpus_allowed &gt; 1</c>).
    /// </summary>
    /// <param name="pushBusy">A push request is already in flight on the runner's CPU.</param>
    /// <param name="runnerMigrationDisabled">The runner's migrate-disable depth.</param>
    /// <param name="runnerAffinity">The runner's requested affinity.</param>
    public static bool CanRequestPushRunning(bool pushBusy, int runnerMigrationDisabled, CpuSet runnerAffinity) =>
        !pushBusy && runnerMigrationDisabled == 0 && runnerAffinity.Next(runnerAffinity.First) >= 0;

    /// <summary>
    /// A pile-up seen by a pull, or at a migrate-disabled task's wakeup (<see cref="PinnedWakeupRepairs"/>),
    /// asks for the push of its CPU's running task only when a CPU runs below that task now
    /// (<see cref="Placement.FindLowest"/>, excluding its own): the target the stopper would accept
    /// (<see cref="StopTargetAcceptable"/>), as mainline's push_rt_task looks
    /// (<c>find_lowest_rq(rq-&gt;curr)</c>) before it pushes the runner away from a migrate-disabled next
    /// task on a pull's behalf (RT_PUSH_IPI). An idle CPU here pulls again and again (the runtime every
    /// <c>PullRecheckNs</c>, the simulator after every event), and a request whose stopper found nothing
    /// was asked again at once: in the simulator, a loop at one instant when each request cut a timer
    /// anticipation's spin, whose point then spun again. A CPU that drops later pulls and asks then. The
    /// rebalancer's tick still asks without looking, once per tick, so that a CPU dropping between its
    /// request and the runner's point takes the runner.
    /// </summary>
    /// <param name="targetCpu">The CPU FindLowest chose for the runner, or −1.</param>
    /// <param name="targetTopPrio">That CPU's <see cref="ICpuState.TopPrio"/>.</param>
    /// <param name="belowPrio">What the target must run below: the runner's priority (a pull), or the
    /// woken pinned task's (a wakeup, <see cref="PinnedWakeupRepairs"/>: a runner moved onto a CPU running
    /// above the pinned task would only make that CPU's task wait instead of it).</param>
    public static bool PushRunningHasTarget(int targetCpu, int targetTopPrio, int belowPrio) =>
        StopTargetAcceptable(mustLeave: false, targetCpu, targetTopPrio, belowPrio);

    /// <summary>
    /// A migrate-disabled task woke on its CPU behind a running task it does not preempt: under a policy
    /// that repairs pile-ups on sight (<see cref="MayRepairPileUp"/> off a pull: WorkConserving) the
    /// runner is asked to move, if a CPU runs below the pinned task (<see cref="PushRunningHasTarget"/>),
    /// so that the pinned task runs now. Mainline leaves it (task_woken_rt's push passes over a migrate-disabled
    /// task) until a CPU that drops pulls; an idle CPU never does, and the threaded runtime's idle CPUs
    /// look only when woken or at their recheck, so it waited for the rebalancer's tick.
    /// </summary>
    /// <param name="policy">The balancing policy.</param>
    /// <param name="wokenPrio">The woken task's priority.</param>
    /// <param name="runningPrio">The priority running on its CPU.</param>
    public static bool PinnedWakeupRepairs(BalancePolicy policy, int wokenPrio, int runningPrio) =>
        MayRepairPileUp(policy, onPull: false, pullerPreviousPrio: -1) && runningPrio > wokenPrio; // an equal runner is check_preempt_equal_prio's

    /// <summary>
    /// push_rt_task for a queued task (the post-schedule push after a preemption, scenario 9, the wakeup
    /// push and the periodic tick): move it when it is migratable and the lowest allowed CPU
    /// (<see cref="Placement.FindLowest"/>, excluding its own) is busy below it, so it runs there now.
    /// </summary>
    /// <param name="taskPrio">The queued task's priority.</param>
    /// <param name="migrationDisabled">The queued task's migrate-disable depth.</param>
    /// <param name="targetCpu">The CPU FindLowest chose, or −1.</param>
    /// <param name="targetTopPrio">That CPU's <see cref="ICpuState.TopPrio"/>.</param>
    /// <param name="belowPrio">What the target must also run below: for a migrate-disable pile-up's repair
    /// (a task queued above a preempted pinned one pushed away so that the pinned task runs) the pinned
    /// task's priority, as for <see cref="PushRunningHasTarget"/>: on a CPU running above the pinned task
    /// the pushed task would only make that CPU's task wait instead of it. Else <see cref="int.MaxValue"/>.</param>
    public static bool ShouldPushQueued(int taskPrio, int migrationDisabled, int targetCpu, int targetTopPrio, int belowPrio = int.MaxValue) =>
        migrationDisabled == 0 && targetCpu >= 0 && targetTopPrio < Math.Min(taskPrio, belowPrio);

    /// <summary>
    /// push_cpu_stop / migration_cpu_stop, executed by the runner's own CPU at its next preemption point:
    /// true when the stopper must defer a requested push because the runner has pinned itself meanwhile.
    /// The caller then sets MDF_PUSH; the runner's outermost migrate_enable pushes it (scenario 14).
    /// </summary>
    /// <param name="pushRequested">A push was requested (push_busy) or deferred earlier (MDF_PUSH).</param>
    /// <param name="runnerMigrationDisabled">The runner's migrate-disable depth now.</param>
    public static bool StopDefersPush(bool pushRequested, int runnerMigrationDisabled) =>
        pushRequested && runnerMigrationDisabled > 0;

    /// <summary>
    /// The stopper's re-check: whether it may move the runner now. It must be migratable, and either
    /// must leave (its affinity excludes the CPU, or the CPU is inactive) or a push was requested.
    /// </summary>
    /// <param name="pushRequested">A push was requested (push_busy) or deferred earlier (MDF_PUSH).</param>
    /// <param name="mustLeave">The runner's affinity excludes its CPU, or the CPU is inactive.</param>
    /// <param name="runnerMigrationDisabled">The runner's migrate-disable depth now.</param>
    public static bool StopMayMove(bool pushRequested, bool mustLeave, int runnerMigrationDisabled) =>
        (pushRequested || mustLeave) && runnerMigrationDisabled == 0;

    /// <summary>
    /// The stopper's choice of target: a task that must leave goes to any allowed active CPU
    /// (select_fallback_rq); a pushed one only to a CPU busy below it (find_lock_lowest_rq's re-check).
    /// </summary>
    /// <param name="mustLeave">The runner must leave its CPU.</param>
    /// <param name="targetCpu">The chosen CPU, or −1.</param>
    /// <param name="targetTopPrio">That CPU's <see cref="ICpuState.TopPrio"/>.</param>
    /// <param name="runnerPrio">The runner's priority.</param>
    public static bool StopTargetAcceptable(bool mustLeave, int targetCpu, int targetTopPrio, int runnerPrio) =>
        targetCpu >= 0 && (mustLeave || targetTopPrio < runnerPrio);

    /// <summary>
    /// The outermost migrate_enable queues stop work on its own CPU when a deferred push (MDF_PUSH) is
    /// pending and no other push is in flight there, or when the task must leave (its affinity changed
    /// meanwhile, or the CPU went inactive).
    /// </summary>
    /// <param name="mdfPush">The task carries MDF_PUSH.</param>
    /// <param name="pushBusy">A push is already in flight on the CPU.</param>
    /// <param name="mustLeave">The task's affinity excludes the CPU, or the CPU is inactive.</param>
    public static bool MigrateEnableQueuesStop(bool mdfPush, bool pushBusy, bool mustLeave) =>
        (mdfPush && !pushBusy) || mustLeave;

    /// <summary>
    /// task_tick_rt: a SCHED_RR task whose slice expired is requeued at the tail of its priority only when
    /// another task of the same priority is queued on its CPU. FIFO and normal tasks never rotate.
    /// </summary>
    /// <param name="policy">The running task's policy.</param>
    /// <param name="sliceExpired">Its round-robin slice has run out.</param>
    /// <param name="samePriorityQueued">Another task of its priority waits on its CPU.</param>
    public static bool ShouldRotateRoundRobin(SchedPolicy policy, bool sliceExpired, bool samePriorityQueued) =>
        policy == SchedPolicy.RoundRobin && sliceExpired && samePriorityQueued;

    /// <summary>
    /// 885b3ba47aa5: a task inside migrate_disable that sets its own affinity to a mask excluding its CPU
    /// is refused with EBUSY (it would wait for itself forever); the mask stays unchanged.
    /// </summary>
    /// <param name="selfIssued">The caller is the task itself.</param>
    /// <param name="migrationDisabled">The task's migrate-disable depth.</param>
    /// <param name="taskCpu">The task's CPU.</param>
    /// <param name="requested">The requested mask.</param>
    public static bool IsSelfAffinityDenied(bool selfIssued, int migrationDisabled, int taskCpu, CpuSet requested) =>
        selfIssued && migrationDisabled > 0 && !requested.Contains(taskCpu);

    /// <summary>
    /// affine_move_task: a request completes at once (no move) when the task is settled on a CPU inside
    /// the new mask, running there or queued there (it also completes every earlier waiter: scenario 24),
    /// or when it is off every CPU and free to go anywhere (never placed, exited, or blocked while
    /// migratable: its wakeup places it by the new mask). A task between CPUs (taken off one, not yet
    /// queued on the next) is neither: its request completes when it switches in inside the mask, or
    /// when it ends. A task blocked inside a migrate-disabled section wakes on its pinned CPU, which counts
    /// as settled there: a mask including it completes at once, else it waits for the outermost
    /// migrate_enable like a running one.
    /// </summary>
    /// <param name="settledCpu">The CPU the task runs on or is queued on, or −1 when it is on no CPU's queue.</param>
    /// <param name="offCpu">The task is not runnable and not pinned: never placed, exited, or blocked while migratable.</param>
    /// <param name="requested">The requested mask.</param>
    public static bool AffinityCompletesAtOnce(int settledCpu, bool offCpu, CpuSet requested) =>
        offCpu || (settledCpu >= 0 && requested.Contains(settledCpu));
}
