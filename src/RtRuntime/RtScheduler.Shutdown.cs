using RtRuntime.Cpus;
using RtRuntime.Diagnostics;
using RtRuntime.Tasks;

namespace RtRuntime;

/// <summary>
/// Lifetime: the registry of tasks that ever blocked, the stop sequence (drain, cancel, abandon, join).
/// A runnable or running task is found on its CPU; only a blocked one is reachable solely through its
/// waker, so a task joins the registry when it first blocks (a task that never blocks, the common
/// short task, never touches it) and leaves when it ends.
/// </summary>
public sealed partial class RtScheduler
{
    private const int Stripes = 16;

    private readonly Lock[] _stripeLocks = new Lock[Stripes];
    private readonly RtTask?[] _stripeHeads = new RtTask?[Stripes];
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _stopLock = new();
    private readonly Lock _drainLock = new(); // orders a drain task admitted while stopping with the drain's completion
    private Task<ShutdownSummary>? _stopTask;
    private readonly List<RtTask> _stopCallers = []; // tasks of this runtime that called StopAsync (under _stopLock)
    private readonly List<Task> _stopCallerBodies = []; // bodies of RunAsync tasks that called it from runasync/posted (under _stopLock)

    /// <summary>
    /// How often a stop with a caller among its own tasks looks whether only those callers are left,
    /// blocked on a foreign await (the stop itself, which cannot end before them).
    /// </summary>
    private static readonly TimeSpan s_stopCallerPoll = TimeSpan.FromMilliseconds(10);
    private bool _accepting;
    private volatile bool _cancellingAll;
    private volatile bool _reaping;

    /// <summary>
    /// After the cancel grace, how long a stop waits for running tasks that go on past their
    /// cancellation to reach their next runtime await, where they are ended (reaped), before it
    /// abandons them (200 ms). Tests that expect a reap lengthen it, so that an OS keeping a CPU thread
    /// off the cores that long (a loaded CI machine) is not read as a task that never awaits.
    /// </summary>
    internal TimeSpan ReapWindow { get; set; } = TimeSpan.FromMilliseconds(200);

    // Spawners write these; CPU threads count endings on their own Cpu (no shared line on the hot path).
    private PaddedLong _admitted;
    private PaddedLong _refused;

    /// <summary>
    /// Tasks spawned with <see cref="RunAsync"/> whose objects went back to the task cache for a later
    /// spawn to reuse (they ended well without blocking), over all CPUs. Counted as each CPU hands the
    /// cache a batch of them (every 32, and when it goes idle); those a full cache leaves to the GC are not.
    /// </summary>
    public long TasksRetired => _cpus.Sum(c => Volatile.Read(ref c.TasksRetired));

    /// <summary>Tasks accepted and not yet ended.</summary>
    public long LiveTasks
    {
        get
        {
            // Each count is read before the one it follows from: a task's end is counted after its
            // admission, a refusal after its admission. So every end and refusal read here has its
            // admission read too, and a count that moves meanwhile only makes this read high for a
            // moment (the ending or refusal calls OnTaskGone after it, which reads again). Read the
            // other way round (admissions first), a refused spawn between the reads was subtracted
            // without its admission: a live task read as gone, and the stop's drain completed (its
            // CPU threads told to exit) while the task still waited to run.
            long ended = Ended(RtTaskState.Completed) + Ended(RtTaskState.Faulted) + Ended(RtTaskState.Cancelled);
            return Accepted - ended;
        }
    }

    private long Accepted
    {
        get
        {
            long refused = Interlocked.Read(ref _refused.Value); // first: see LiveTasks
            return Interlocked.Read(ref _admitted.Value) - refused;
        }
    }

    private long Ended(RtTaskState state)
    {
        long sum = 0;
        foreach (Cpu cpu in _cpus)
        {
            sum += cpu.EndedCount(state);
        }

        return sum;
    }

    /// <summary>True until a stop begins.</summary>
    public bool IsAccepting => Volatile.Read(ref _accepting);

    /// <summary>
    /// "is stopping" or "has stopped", for the refusals of calls a stop ends (spawns, hotplug): a caller
    /// learns whether the stop it raced is still under way (its tasks draining) or over.
    /// </summary>
    internal string StopStateText => Volatile.Read(ref _stopTask) is { IsCompleted: true } ? "has stopped" : "is stopping";

    /// <summary>
    /// Stops the runtime: refuses new tasks at once, lets live tasks finish for up to
    /// <paramref name="drainTimeout"/>, then cancels the rest and gives them
    /// <paramref name="cancelGrace"/> (default 5 s) to observe it at a preemption point or blocking
    /// wait; tasks blocked on a foreign await are then ended as cancelled, and a task that caught its
    /// cancellation and went on is ended at its next runtime await. Finally the CPU threads exit.
    /// Idempotent: later calls return the first call's result. A task of this runtime may call it (and
    /// await it, or <see cref="DisposeAsync"/>): the stop cannot end before its own tasks, so once every
    /// other task has ended and each such caller is blocked on a foreign await (the stop, typically), the
    /// callers are ended as cancelled (their awaits never resume: the CPU threads exit) instead of
    /// holding the stop for the drain and the grace, or for ever with <see cref="Timeout.InfiniteTimeSpan"/>.
    /// A <see cref="RunAsync"/> body that calls it after a foreign await (the rest then runs on a
    /// <c>runasync/posted</c> task) is taken for its own task when the call is in the body's own frame
    /// (not in a helper method the body awaits: that task is waited for as any task). A RunAsync body's
    /// continuation that .NET runs inline inside another RunAsync task's step (a
    /// <see cref="TaskCompletionSource"/> completed there without
    /// <see cref="TaskCreationOptions.RunContinuationsAsynchronously"/>: both run under the one RunAsync
    /// context) is taken for that other task, which nothing at the call can tell apart: the caller's own
    /// task is waited for as any task, and the other one, if it is then the last left and blocked on a
    /// foreign await, is ended as a caller (as after <c>_ = StopAsync(...)</c> in its own body).
    /// </summary>
    /// <param name="drainTimeout">How long live tasks may finish on their own.</param>
    /// <param name="cancelGrace">How long cancelled tasks get to observe it (default 5 s).</param>
    /// <param name="drainCancellation">Ends the drain early (e.g. the host's stop token): remaining tasks are cancelled at once.</param>
    /// <exception cref="ArgumentOutOfRangeException">A timeout is negative (other than <see cref="Timeout.InfiniteTimeSpan"/>).</exception>
    public Task<ShutdownSummary> StopAsync(TimeSpan drainTimeout, TimeSpan? cancelGrace = null, CancellationToken drainCancellation = default)
    {
        ValidateTimeout(drainTimeout, nameof(drainTimeout), s_maxDrain);
        TimeSpan grace = cancelGrace ?? TimeSpan.FromSeconds(5);
        ValidateTimeout(grace, nameof(cancelGrace), s_maxGrace);
        lock (_stopLock)
        {
            if (Cpu.Current is { } cpu && cpu.Scheduler == this && Cpu.CurrentTask is { } caller)
            {
                _stopCallers.Add(caller); // before the stop's first steps: its drain must not wait for this task's await of it
                if (RunAsyncBodyCalling(caller) is { } body)
                {
                    _stopCallerBodies.Add(body); // the caller is a RunAsync body gone on after a foreign await: its task is the one blocked
                }
            }

            if (_stopTask is { } started)
            {
                return started;
            }

            // Published before the stop's first steps run: they end hotplug waits, whose failures run
            // their awaiters' continuations inline, and a call to StopAsync made there (on this thread,
            // through this reentrant lock) must get this stop, not start a second one.
            var start = new Task<Task<ShutdownSummary>>(() => StopCoreAsync(drainTimeout, grace, drainCancellation));
            _stopTask = start.Unwrap();
            start.RunSynchronously(TaskScheduler.Default);
            return _stopTask;
        }
    }

    /// <summary>Stops with a 5 s drain (see <see cref="StopAsync"/>).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Volatile.Read(ref _disposeOwner) is { } owner)
        {
            await owner().ConfigureAwait(false); // the owner's stop (a host's: its workers' tokens, its grace)
        }

        await StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false); // after the owner's stop: its result
    }

    private Func<ValueTask>? _disposeOwner;

    /// <summary>
    /// Set by an owner of this runtime (the hosted service): <see cref="DisposeAsync"/> runs the owner's stop
    /// first. A DI container that hands out this runtime disposes it before the hosted service that started it.
    /// </summary>
    internal Func<ValueTask>? DisposeOwner
    {
        set => Volatile.Write(ref _disposeOwner, value);
    }

    private static readonly TimeSpan s_maxDrain = TimeSpan.FromMilliseconds(uint.MaxValue - 1);
    private static readonly TimeSpan s_maxGrace = TimeSpan.FromMilliseconds(int.MaxValue);

    private static void ValidateTimeout(TimeSpan timeout, string name, TimeSpan max)
    {
        // The drain waits with Task.Delay (at most 4294967294 ms, about 49.7 days), the grace with Thread.Join
        // too (at most int.MaxValue ms, about 24.8 days): a longer one (TimeSpan.MaxValue meant as "forever")
        // would fault the stop midway, the runtime refusing tasks and its CPU threads left running.
        if ((timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan) || timeout > max)
        {
            throw new ArgumentOutOfRangeException(name, timeout, $"{name} must be 0..{max} ({max.TotalMilliseconds} ms), or Timeout.InfiniteTimeSpan.");
        }
    }

    private async Task<ShutdownSummary> StopCoreAsync(TimeSpan drainTimeout, TimeSpan grace, CancellationToken drainCancellation)
    {
        Volatile.Write(ref _accepting, false);
        _hotplugStop.Cancel(); // an offline waiting for pinned tasks ends (its CPU active again), queued hotplug calls fail
        Interlocked.MemoryBarrier();
        OnTaskGone();

        long abandoned = 0;
        if (!await WaitDrainedAsync(drainTimeout, drainCancellation).ConfigureAwait(false))
        {
            if (drainTimeout == TimeSpan.Zero)
            {
                RtLog.CancellingAtOnce(_logger, LiveTasks);
            }
            else
            {
                RtLog.CancellingAtShutdown(_logger, LiveTasks);
            }

            _cancellingAll = true; // a task the snapshot misses (moving between CPUs) is cancelled at its next switch-in
            foreach (RtTask task in LiveSnapshot())
            {
                RequestCancel(task);
            }

            if (!await WaitDrainedAsync(grace, CancellationToken.None).ConfigureAwait(false))
            {
                _reaping = true; // a running task that catches its cancellation and goes on ends at its next runtime await
                AbandonStragglers();
                if (!await WaitDrainedAsync(ReapWindow, CancellationToken.None).ConfigureAwait(false))
                {
                    AbandonStragglers(); // what the reaped tasks' ends woke, or a task that blocked meanwhile
                    abandoned = LogAbandoned();
                }
            }
        }

        foreach (Cpu cpu in _cpus)
        {
            cpu.RequestExit();
        }

        HrTimer.Stop();
        Rebalancer.Stop();
        DisposeMetrics(); // a listener's exception is logged, not let through to end the stop here
        // The CPU threads exit together, within one grace (joined one after another, each could take the
        // whole grace, and a host's shutdown timeout would pass before the summary). A CPU still running
        // an abandoned task cannot exit (it is a background thread): it is not waited for.
        TimeSpan join = grace == Timeout.InfiniteTimeSpan ? TimeSpan.FromSeconds(30) : grace;
        await Task.WhenAll(_cpus.Select(cpu => Task.Run(() =>
            cpu.Thread!.Join(cpu.Running is { IsCompleted: false } ? TimeSpan.Zero : join)))).ConfigureAwait(false);

        TaskCache.Close(); // no thread that spawned here keeps the runtime alive through its cached task objects
        ReleaseOsRequests();
        // The endings read once, and the abandoned counted from the same reads: a task abandoned after the
        // grace that ended meanwhile (its body returned while the CPU threads were joined) is counted
        // once, as it ended, not also as abandoned (Completed + Faulted + Cancelled + Abandoned above
        // Accepted). No task is admitted any more: Accepted no longer moves. The runtime's own
        // <name>/posted drains are left out of the user's counts (they ran work posted to ended tasks or
        // to the RunAsync context, not tasks anyone spawned): reported as Posted. A drain still running
        // posted work after the grace is abandoned all the same (LogAbandoned named it): its CPU thread is
        // left running user code, which a summary saying Abandoned 0 (a clean stop) would hide.
        // Once drained, every task accepted has ended and none can be admitted any more (TryAdmitWhileDraining
        // checks the drain under its lock): the accepted are exactly the ended, read from counts that no
        // longer move. The admission counts still move for a moment on each refusal (a spawn, or a post to
        // an ended task that counts its drain before it is refused): read then, a refusal racing the
        // summary took one task from the user's Accepted and added it to Posted (review helper-142).
        bool drained = _drained.Task.IsCompleted;
        long postedAdmitted = Interlocked.Read(ref _postedAdmitted);
        long postedCompleted = PostedEnded(RtTaskState.Completed);
        long postedFaulted = PostedEnded(RtTaskState.Faulted);
        long postedCancelled = PostedEnded(RtTaskState.Cancelled);
        long completed = Ended(RtTaskState.Completed) - postedCompleted;
        long faulted = Ended(RtTaskState.Faulted) - postedFaulted;
        long cancelled = Ended(RtTaskState.Cancelled) - postedCancelled;
        long posted = drained ? postedCompleted + postedFaulted + postedCancelled : postedAdmitted;
        long accepted = drained ? completed + faulted + cancelled : Accepted - posted;
        if (abandoned > 0)
        {
            abandoned = Math.Max(0, accepted - completed - faulted - cancelled) + Math.Max(0, posted - postedCompleted - postedFaulted - postedCancelled);
        }

        var summary = new ShutdownSummary(accepted, completed, faulted, cancelled, abandoned)
        {
            Posted = posted,
        };
        RtLog.Stopped(_logger, summary.Completed, summary.Faulted, summary.Cancelled, summary.Abandoned);
        return summary;
    }

    private async Task<bool> WaitDrainedAsync(TimeSpan timeout, CancellationToken cancellation)
    {
        if (_drained.Task.IsCompleted)
        {
            return true;
        }

        // Task.Delay completes (as cancelled) when the token fires: the drain ends early, not the stop.
        Task expired = Task.Delay(timeout, cancellation);
        while (true)
        {
            bool callers;
            lock (_stopLock)
            {
                callers = _stopCallers.Count > 0;
            }

            // Polled, and only with such callers: a task blocking is the CPU's hot path, told nothing of the stop.
            Task finished = callers
                ? await Task.WhenAny(_drained.Task, expired, Task.Delay(s_stopCallerPoll, CancellationToken.None)).ConfigureAwait(false)
                : await Task.WhenAny(_drained.Task, expired).ConfigureAwait(false);
            if (finished == _drained.Task || finished == expired)
            {
                return _drained.Task.IsCompleted;
            }

            EndStopCallersIfOnlyTheyAreLeft();
        }
    }

    /// <summary>
    /// The body whose continuation <paramref name="caller"/> runs, when it is a <c>runasync/posted</c> task
    /// running the rest of a RunAsync body after a foreign await: the caller that matters is then the body's
    /// pooled task (blocked on that await, until the body completes), not the drain task, which ends
    /// once the callback suspends. Found when the body awaited in its own frame (the continuation's target
    /// is the body's task); the rest of a helper method the body awaits is not told from the body, and its
    /// task is waited for as any task.
    /// </summary>
    private static Task? RunAsyncBodyCalling(RtTask caller) =>
        caller.RareOrNull is { PostedDrain: true, AfterExit: { CarriesLiveBodies: true, Running: Action { Target: Task body } } } ? body : null;

    /// <summary>
    /// When every live task is a task of this runtime that called <see cref="StopAsync"/> and is blocked
    /// on a foreign await (the stop's own task, most likely: it completes only after them), ends them as
    /// cancelled, as <see cref="AbandonStragglers"/> ends a task blocked on a foreign await. A caller
    /// still running, or in a runtime wait, is waited for as any task.
    /// </summary>
    private void EndStopCallersIfOnlyTheyAreLeft()
    {
        RtTask[] callers;
        HashSet<Task>? bodies = null;
        lock (_stopLock)
        {
            callers = [.. _stopCallers.Where(t => !t.IsCompleted).Distinct()];
            if (_stopCallerBodies.Count > 0)
            {
                bodies = new HashSet<Task>(_stopCallerBodies, ReferenceEqualityComparer.Instance);
            }
        }

        if (bodies is not null)
        {
            // The RunAsync tasks whose bodies called from runasync/posted: blocked, so in the registry.
            callers = [.. callers.Concat(LiveSnapshot().Where(t => t.Pooled && t.RunningBody is { } body && bodies.Contains(body))).Distinct()];
        }

        if (callers.Length == 0 || LiveTasks != callers.Length)
        {
            return;
        }

        foreach (RtTask caller in callers)
        {
            // Reason is written before the exchange that publishes Blocked (a full fence).
            if (Volatile.Read(ref caller.Run) != TaskRunState.Blocked || caller.Reason != SuspendReason.Foreign)
            {
                return;
            }
        }

        foreach (RtTask caller in callers)
        {
            // Woken meanwhile (its await completed after all), it runs on and is waited for.
            if (Interlocked.CompareExchange(ref caller.Run, TaskRunState.Dead, TaskRunState.Blocked) == TaskRunState.Blocked)
            {
                EndAtStop(caller);
            }
        }
    }

    /// <summary>
    /// After the cancel grace: a task blocked on a foreign await, or still queued (its CPU runs a task
    /// that never reached a preemption point, or the grace ended before it ran), is ended as cancelled
    /// (its continuation, if it ever comes, is dropped; what it waited on gets back any grant it did not
    /// take); a queued task whose body already completed off its CPU gets its outcome. A task still
    /// running is ended by its CPU at its next runtime await (<see cref="Reaping"/>). Ending tasks wakes
    /// their awaiters (and a released local lock's next holder), which may queue on a stuck CPU's wake
    /// list: so the wake lists are drained and the live tasks looked at again until a pass ends nothing.
    /// </summary>
    private void AbandonStragglers()
    {
        bool endedAny = true;
        for (int pass = 0; endedAny && pass < 64; pass++)
        {
            endedAny = false;
            foreach (Cpu cpu in _cpus)
            {
                cpu.DrainWakeList(); // a stuck CPU's listed wakeups into its queue, where they can be ended
            }

            foreach (RtTask task in LiveSnapshot())
            {
                if (Interlocked.CompareExchange(ref task.Run, TaskRunState.Dead, TaskRunState.Blocked) == TaskRunState.Blocked
                    || TryDequeueForStop(task))
                {
                    EndAtStop(task);
                    endedAny = true;
                }
            }
        }
    }

    /// <summary>Logs each task the stop could not end (running without reaching a runtime await); returns their count.</summary>
    private long LogAbandoned()
    {
        foreach (RtTask task in LiveSnapshot())
        {
            if (!task.IsCompleted)
            {
                RtLog.Abandoned(_logger, task.Name, task.CurrentCpu);
            }
        }

        return LiveTasks; // exact, whatever a racy snapshot saw
    }

    /// <summary>Takes a still-queued task off its CPU's run queue for good (under that CPU's lock, so its CPU can no longer pick it).</summary>
    internal static bool TryDequeueForStop(RtTask task)
    {
        if (task.Cpu is not { } cpu)
        {
            return false;
        }

        using (cpu.Lock.EnterScope())
        {
            if (task.Cpu != cpu || Volatile.Read(ref task.Run) != TaskRunState.Queued || !cpu.Rq.Contains(task))
            {
                return false;
            }

            cpu.DequeueLocked(task);
            Volatile.Write(ref task.Run, TaskRunState.Dead);
            return true;
        }
    }

    /// <summary>
    /// Whether the stop's cancel grace has passed: a cancelled task that goes on running (it catches
    /// its cancellation and awaits again) is ended by its CPU at its next runtime await, without resuming.
    /// </summary>
    internal bool Reaping => _reaping;

    /// <summary>On the task's CPU thread, at a step boundary while <see cref="Reaping"/>: ends a cancelled task without resuming it.</summary>
    internal void Reap(RtTask task)
    {
        Volatile.Write(ref task.Run, TaskRunState.Dead);
        EndAtStop(task, reaped: true);
    }

    /// <summary>Ends a task the stop took (now Dead): as <see cref="Finish"/> when its body completed off its CPU, else cancelled.</summary>
    internal void EndAtStop(RtTask task, bool reaped = false)
    {
        AbandonWait(task); // a grant it was given and never took goes to the next waiter
        ReleaseLeakedGuards(task, reportHeldLocks: false); // its local locks and pin too: it did not exit, the stop ended it
        bool bodyCompleted = task.HasCompletedBody;
        if (bodyCompleted)
        {
            task.PublishOutcome(); // queued only for its CPU to publish what the body returned
        }
        else
        {
            string was = reaped ? "running after its cancellation (past the grace; ended at its next await)"
                : task.IsStarted ? "blocked or queued" : "waiting to start";
            task.Complete(RtTaskState.Cancelled, new OperationCanceledException($"Task '{task.Name}' was still {was} when the runtime stopped; ended as cancelled."));
        }

        Ended(task, bodyCompleted);
    }

    private void InitRegistry()
    {
        for (int i = 0; i < Stripes; i++)
        {
            _stripeLocks[i] = new Lock();
        }
    }

    /// <summary>Whether a stop is cancelling every task (checked at switch-in).</summary>
    internal bool CancellingAll => _cancellingAll;

    /// <summary>Adds a task about to block for the first time (on its CPU thread, before it is Blocked).</summary>
    internal void Register(RtTask task)
    {
        task.Registered = true;
        int stripe = (int)(task.Id & (Stripes - 1));
        lock (_stripeLocks[stripe])
        {
            RtTask? head = _stripeHeads[stripe];
            task.AllNext = head;
            if (head is not null)
            {
                head.AllPrev = task;
            }

            _stripeHeads[stripe] = task;
        }
    }

    private void Unregister(RtTask task)
    {
        if (!task.Registered)
        {
            return; // never blocked: never registered
        }

        int stripe = (int)(task.Id & (Stripes - 1));
        lock (_stripeLocks[stripe])
        {
            if (task.AllPrev is { } prev)
            {
                prev.AllNext = task.AllNext;
            }
            else if (_stripeHeads[stripe] == task)
            {
                _stripeHeads[stripe] = task.AllNext;
            }
            else
            {
                return; // already unregistered
            }

            if (task.AllNext is { } next)
            {
                next.AllPrev = task.AllPrev;
            }

            task.AllNext = task.AllPrev = null;
        }
    }

    /// <summary>
    /// Every live task (a copy): the running and queued tasks of each CPU (one CPU at a time, under its
    /// lock) and the registry. A task moving between CPUs meanwhile may be missed.
    /// </summary>
    internal List<RtTask> LiveSnapshot()
    {
        var seen = new HashSet<RtTask>(ReferenceEqualityComparer.Instance);
        var list = new List<RtTask>();
        foreach (Cpu cpu in _cpus)
        {
            using (cpu.Lock.EnterScope())
            {
                if (cpu.Running is { } running)
                {
                    Add(running);
                }

                foreach (RtTask queued in cpu.Rq.ToList())
                {
                    Add(queued);
                }
            }
        }

        for (int i = 0; i < Stripes; i++)
        {
            lock (_stripeLocks[i])
            {
                for (RtTask? t = _stripeHeads[i]; t is not null; t = t.AllNext)
                {
                    Add(t);
                }
            }
        }

        return list;

        void Add(RtTask task)
        {
            if (!task.IsCompleted && seen.Add(task))
            {
                list.Add(task);
            }
        }
    }

    /// <summary>After a task ended (or a spawn was refused): while stopping, the last one completes the drain.</summary>
    private void OnTaskGone()
    {
        if (!Volatile.Read(ref _accepting) && LiveTasks == 0)
        {
            lock (_drainLock)
            {
                if (LiveTasks == 0) // a task admitted while draining (TryAdmitWhileDraining) is counted under this lock
                {
                    _drained.TrySetResult();
                }
            }
        }
    }

    /// <summary>
    /// Admits a runtime task that runs work of accepted tasks (a posted drain: the rest of a RunAsync
    /// body after a foreign await, a continuation of an ended task) while a stop still waits for the
    /// live tasks to end; false once it cancels them or they all ended (the work is then dropped).
    /// <paramref name="throughGrace"/>: also while the cancelled tasks get their grace (the rest of live
    /// RunAsync bodies, which can go on nowhere else), until the stop reaps.
    /// </summary>
    private bool TryAdmitWhileDraining(RtTask task, bool throughGrace)
    {
        lock (_drainLock)
        {
            if ((_cancellingAll && (!throughGrace || _reaping)) || _drained.Task.IsCompleted)
            {
                return false;
            }

            Interlocked.Increment(ref _admitted.Value); // counted before the drain can complete: the stop waits for it
        }

        task.Run = TaskRunState.Queued;
        Activate(task);
        return true;
    }
}
