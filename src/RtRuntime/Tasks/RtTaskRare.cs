namespace RtRuntime.Tasks;

/// <summary>
/// The parts of a task most tasks never use, allocated on first use (<see cref="RtTask.Rare"/>): a
/// cancellation registration, a pending affinity change, the MDF_PUSH flag, interference accounting,
/// tracing timestamps and lazily made awaitables. Keeping them out of the task object keeps every
/// spawn smaller (bytes per task, the memset, the cache lines a new task drags to its CPU).
/// </summary>
internal sealed class RtTaskRare
{
    /// <summary>
    /// A misuse of the task's one flow of control: a second flow tried to suspend on a runtime
    /// awaitable while one already was (<see cref="RtTask.CanSuspend"/>), or a sleep's awaiter was
    /// completed twice (<see cref="HrTimerSleeper"/>). The error the task faults with when its step ends.
    /// </summary>
    public InvalidOperationException? FlowMisuse;

    /// <summary>The spawn's cancellation token registration (disposed when the task ends).</summary>
    public CancellationTokenRegistration CancellationRegistration;

    /// <summary>
    /// The spawn's cancellation token, which a cancellation it caused names. Kept apart from
    /// <see cref="CancellationRegistration"/>: a token already cancelled at the spawn runs the callback
    /// at once and gives a default registration, whose token is none.
    /// </summary>
    public CancellationToken SpawnToken;

    /// <summary>set_affinity_pending: the waiters of an affinity change not yet satisfied (last request wins, all complete together).</summary>
    public TaskCompletionSource<bool>? AffinityPending;

    /// <summary>
    /// A policy and priority set from another thread (<see cref="RtScheduler.SetScheduler"/>,
    /// <see cref="RtScheduler.SetPriority"/>; packed as <see cref="Tasks.SchedRequest"/>), 0 when none:
    /// whoever holds the task where its priority may change applies it and clears it (last request wins).
    /// </summary>
    public int SchedRequest;

    /// <summary>
    /// The contended <see cref="RtMutex"/>es it holds (those with waiters, which may boost it), linked
    /// through <see cref="RtMutex.NextHeld"/> (its <c>pi_waiters</c>' locks); under the runtime's PI lock
    /// (<see cref="RtScheduler.PiLock"/>).
    /// </summary>
    public RtMutex? HeldMutexes;

    /// <summary>
    /// The boost those mutexes give it (<c>rt_mutex</c>'s top PI waiter): the highest priority among
    /// their waiters, 0 when none. Written under the PI lock; read by whoever computes its effective
    /// priority (<see cref="RtScheduler.BoostedPrioLocked"/>), which a <see cref="Tasks.SchedRequest.Recompute"/> asks for.
    /// </summary>
    public int MutexBoost;

    /// <summary>
    /// How many <see cref="RtMutex"/>es it holds, contended or not, and has taken: a mutex an unlock handed
    /// to it counts from its claim (<see cref="RtMutex.ClaimOrReblock"/>), not from the handover, so that
    /// only the task's own steps (and its end) write it, plain: a flow posted to it may take or release a
    /// mutex on its CPU while another CPU hands it one. Nonzero at its end, the runtime looks for them
    /// (<see cref="RtScheduler"/>'s weak list of mutexes) and passes them on; a handover never claimed is
    /// given back before that (<see cref="RtScheduler.AbandonWait"/>).
    /// </summary>
    public int MutexesHeld;

    /// <summary>The number of its last contended <see cref="PerCpu.LocalLock.LockAsync"/> (each takes the next; written by the task).</summary>
    public int LocalLockWaits;

    /// <summary>
    /// The number of its contended <see cref="PerCpu.LocalLock.LockAsync"/> whose result is still to be
    /// awaited, 0 when none: an awaitable whose wait is over (the lock taken, the wait refused or
    /// cancelled) or that a later LockAsync replaced is refused when awaited, rather than take the lock
    /// without the migrate-disable its LockAsync counted and its end undid.
    /// </summary>
    public int PendingLocalLockWait;

    /// <summary>Why its last <see cref="RtMutex"/> or <see cref="PerCpu.LocalLock"/> wait was refused at the block (a deadlock it would have entered), for the resuming flow to report and throw; null when none.</summary>
    public string? WaitDeadlock;

    /// <summary>MDF_PUSH: a push of this running task was requested while it was migrate-disabled; its outermost enable pushes it.</summary>
    public bool MdfPush;

    /// <summary>When the outermost migrate-disable began (RtClock ns; only while a verbose listener is enabled).</summary>
    public long MigrateDisabledAtNs;

    /// <summary>
    /// SCHED_RR: what is left of the task's slice (the kernel's <c>p->rt.time_slice</c>) since it last
    /// left its CPU with the slice not used up (preempted, yielded, blocked, moved), in ns; 0 for a full
    /// one. Its next switch-in, on any CPU, runs it for that long before it rotates; a policy change
    /// clears it. Written and read by the CPU thread that runs the task, at its switch-out and switch-in.
    /// </summary>
    public long RoundRobinSliceLeftNs;

    /// <summary>Since when the task, pinned, waits under a higher priority (RtClock ns; 0 when not).</summary>
    public long InterferedSinceNs;

    /// <summary>Total interference: time preempted while migrate-disabled (written by CPU threads at switch-in).</summary>
    public long InterferenceNs;

    /// <summary>The awaitable of an outermost enable that switches (made on first use).</summary>
    public SwitchPoint? SwitchPoint;

    /// <summary>The completion as a <see cref="Task"/> (made on first use).</summary>
    public Task? AsTask;

    /// <summary>A watcher finalises a body that finishes off its CPU (armed once).</summary>
    public bool OffCpuWatch;

    /// <summary>
    /// True while the CPU thread arms that watcher: a body already finished by then (off its CPU) has
    /// the watcher run at once on the CPU thread, which must not take it for an on-CPU completion.
    /// </summary>
    public volatile bool ArmingOffCpuWatch;

    /// <summary>
    /// The task ended holding a local lock, which the runtime released for it: a guard it never
    /// disposed is still out there, naming this object, and a later life on the object would pass for
    /// that guard's owner (its unlock would release that life's lock). Such an object is not reused
    /// (a task with a rare state never is: <see cref="RtTask.TryRetire"/>). Kept here, not in the task
    /// object, whose small fields fill their 8-byte words: a BUG path pays for its own field.
    /// </summary>
    public bool EndedHoldingLocalLock;

    /// <summary>
    /// The task is the runtime's own <c>&lt;name&gt;/posted</c> drain (<see cref="RtScheduler.TrySpawnPostedDrain"/>):
    /// its end is counted apart, and left out of the user's <see cref="ShutdownSummary"/> counts.
    /// </summary>
    public bool PostedDrain;

    /// <summary>The queue of work posted after the task ended (made on first such post; a drain task's is its root's).</summary>
    public PostedAfterExit? AfterExit;

    /// <summary>The posts of a step that came after one that threw (in order), for the task's end to forward.</summary>
    public PostedWork? PostedRest;

    /// <summary>
    /// The CPU whose timer queue holds this task's wait timeout (<see cref="RtWaitQueue.WaitAsync(TaskContext, TimeSpan)"/>),
    /// or null when none is armed. Written under that CPU's lock (a hotplug move holds both CPUs' locks).
    /// </summary>
    public Cpus.Cpu? WaitTimerCpu;

    /// <summary>Run time so far, ns (<see cref="RtSchedulerOptions.TaskRunTime"/>; written by the task's CPU thread).</summary>
    public long RunTimeNs;

    /// <summary>The longest step so far, ns (<see cref="RtSchedulerOptions.TaskRunTime"/>).</summary>
    public long LongestStepNs;

    /// <summary>The last timed wait ended by its timeout (set by the timer that took the task off the queue, read once by the waiting flow).</summary>
    public bool WaitTimedOut;

    /// <summary>
    /// A cancel or a timeout came while an <see cref="RtMutex"/> was handed to the task and it had not
    /// run yet (it was off the waiters' list): if a higher task steals the mutex before it runs, its
    /// claim ends the wait then (<see cref="RtMutex.ClaimOrReblock"/>). Under the PI lock.
    /// </summary>
    public bool WaitEndMissed;

    /// <summary>
    /// The <see cref="RtMutex"/> or local lock's instance a higher task stole from it after an unlock had
    /// handed it over, while it has not run since: it is listed among that lock's waiters again yet
    /// runnable, so no canceller, timer or unlock wakes it (its claim decides when it runs). Under the
    /// PI lock (an RtMutex) or the lock's CPU's lock (a local lock).
    /// </summary>
    public IWaitSource? RobbedOf;
}
