using System.Collections.Concurrent;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Stress;

/// <summary>
/// Checks the runtime's invariants for one run: attach it to a runtime, track the tasks you spawn, call
/// the in-body checks from task code (they are cheap and thread-safe), then <see cref="StopAndCheckAsync"/>.
/// Violations are kept (the first <see cref="MaxRecorded"/> in full, all of them counted by invariant).
/// </summary>
public sealed class InvariantChecker
{
    /// <summary>Violations kept in full; further ones are only counted.</summary>
    public const int MaxRecorded = 100;

    private readonly ConcurrentQueue<InvariantViolation> _violations = new();
    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<TrackedTask> _tracked = new();
    private readonly ConcurrentQueue<BugReport> _bugs = new();
    private readonly ConcurrentQueue<Task> _pooled = new();
    private long _pooledAccepted;
    private long _pooledCompleted;
    private long _pooledFaulted;
    private long _pooledCancelled;
    private long _checks;
    private long _bugCount;
    private int _recorded;
    private RtScheduler? _runtime;

    /// <summary>Creates a checker for <paramref name="scenario"/> run with <paramref name="seed"/>.</summary>
    /// <param name="scenario">The scenario name reported with each violation.</param>
    /// <param name="seed">The run's seed, reported with each violation.</param>
    public InvariantChecker(string scenario, int seed)
    {
        Scenario = scenario;
        Seed = seed;
    }

    /// <summary>The scenario name.</summary>
    public string Scenario { get; }

    /// <summary>The run's seed.</summary>
    public int Seed { get; }

    /// <summary>The command that reproduces the run; copied into every violation.</summary>
    public string Reproduce { get; set; } = string.Empty;

    /// <summary>
    /// The run's interruption (Ctrl+C): once it is cancelled, any tracked task may end cancelled.
    /// Otherwise only a task tracked with <c>cancelAllowed</c> may: the runtime cancelling one the
    /// harness never cancelled is an <see cref="Invariants.ExpectedOutcome"/> failure.
    /// </summary>
    public CancellationToken Interruption { get; set; }

    /// <summary>How many BUG reports the run injects on purpose (more or fewer is a violation). Default 0.</summary>
    public long ExpectedBugs { get; set; }

    /// <summary>Checks performed so far (in-body checks and end-of-run checks).</summary>
    public long Checks => Interlocked.Read(ref _checks);

    /// <summary>BUG reports seen so far.</summary>
    public long BugCount => Interlocked.Read(ref _bugCount);

    /// <summary>The BUG reports seen (the first <see cref="MaxRecorded"/>).</summary>
    public IReadOnlyList<BugReport> Bugs => _bugs.ToArray();

    /// <summary>The violations recorded so far.</summary>
    public IReadOnlyList<InvariantViolation> Violations => _violations.ToArray();

    /// <summary>Violations counted by invariant name (including those not kept in full).</summary>
    public IReadOnlyDictionary<string, long> ViolationCounts => new Dictionary<string, long>(_counts, StringComparer.Ordinal);

    /// <summary>True when no violation was found.</summary>
    public bool Passed => _counts.IsEmpty;

    /// <summary>Watches <paramref name="runtime"/>'s BUG reports. Call once, right after start.</summary>
    /// <param name="runtime">The runtime under test.</param>
    public void Attach(RtScheduler runtime)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        _runtime = runtime;
        runtime.BugReported += OnBug;
    }

    /// <summary>Tracks a spawned task so its end state is checked.</summary>
    /// <param name="task">The task.</param>
    /// <param name="faultAllowed">True when its body may throw <see cref="InjectedFaultException"/>.</param>
    /// <param name="cancelAllowed">True when the harness may cancel it.</param>
    public void Track(RtTask task, bool faultAllowed = false, bool cancelAllowed = false)
    {
        ArgumentNullException.ThrowIfNull(task);
        _tracked.Enqueue(new TrackedTask(task, faultAllowed, cancelAllowed));
    }

    /// <summary>
    /// Tracks a task spawned with <see cref="RtScheduler.RunAsync"/> (it has no handle of its own: its
    /// object may live again as another task): its completion is awaited and its outcome counted and
    /// checked as a tracked task's.
    /// </summary>
    /// <param name="name">The task's name, for messages.</param>
    /// <param name="run">Its completion.</param>
    /// <param name="faultAllowed">True when its body may throw <see cref="InjectedFaultException"/>.</param>
    /// <param name="cancelAllowed">True when the harness may cancel it.</param>
    public void TrackPooled(string name, ValueTask run, bool faultAllowed = false, bool cancelAllowed = false)
    {
        Interlocked.Increment(ref _pooledAccepted);
        _pooled.Enqueue(ObservePooledAsync(name, run, faultAllowed, cancelAllowed));
    }

    private async Task ObservePooledAsync(string name, ValueTask run, bool faultAllowed, bool cancelAllowed)
    {
        try
        {
            await run.ConfigureAwait(false);
            Interlocked.Increment(ref _pooledCompleted);
        }
        catch (OperationCanceledException)
        {
            Interlocked.Increment(ref _pooledCancelled);
            if (!cancelAllowed && !Interruption.IsCancellationRequested)
            {
                Fail(Invariants.ExpectedOutcome, $"pooled task '{name}' was cancelled but the harness never cancelled it");
            }
        }
        catch (Exception e)
        {
            Interlocked.Increment(ref _pooledFaulted);
            if (!faultAllowed || e is not InjectedFaultException)
            {
                Fail(Invariants.ExpectedOutcome, $"pooled task '{name}' faulted: {e.GetType().Name}: {e.Message}");
            }
        }
    }

    /// <summary>
    /// In-body check at a pooled task's end: <paramref name="now"/> (its context's task now) must be
    /// <paramref name="first"/>, still with the id <paramref name="firstId"/> it had at its first step.
    /// </summary>
    /// <param name="task">The task's name.</param>
    /// <param name="first">The context's task at the body's first step.</param>
    /// <param name="firstId">Its id then.</param>
    /// <param name="now">The context's task now.</param>
    /// <returns>True when the check held.</returns>
    public bool CheckSameLife(string task, RtTask first, long firstId, RtTask now)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(now);
        Interlocked.Increment(ref _checks);
        if (ReferenceEquals(first, now) && now.Id == firstId)
        {
            return true;
        }

        Fail(Invariants.TaskObjectReuse, $"pooled task '{task}' (id {firstId}) ended as id {now.Id}{(ReferenceEquals(first, now) ? " on the same object" : " on another object")}: its object was given another life while it ran");
        return false;
    }

    /// <summary>
    /// In-body check for a migrate-disabled section: <paramref name="cpuNow"/> (the task's
    /// <c>RawCpuId</c> now) must equal <paramref name="cpuAtEnter"/>, and so must the CPU whose thread
    /// runs the caller (when it is a runtime's CPU thread): a task the runtime records on its CPU but
    /// another CPU's thread runs has moved too.
    /// </summary>
    /// <param name="task">The task's name.</param>
    /// <param name="cpuAtEnter">RawCpuId recorded right after entering the section.</param>
    /// <param name="cpuNow">RawCpuId now.</param>
    /// <returns>True when the check held.</returns>
    public bool CheckPinned(string task, int cpuAtEnter, int cpuNow)
    {
        Interlocked.Increment(ref _checks);
        int thread = ThreadCpu.Id;
        if (cpuAtEnter == cpuNow && (thread < 0 || thread == cpuNow))
        {
            return true;
        }

        Fail(Invariants.MigrateDisabledStays, cpuAtEnter != cpuNow
            ? $"task '{task}' entered a migrate-disabled section on CPU {cpuAtEnter} and was found on CPU {cpuNow} inside it"
            : $"task '{task}' entered a migrate-disabled section on CPU {cpuAtEnter} and, still recorded there, was run by cpu{thread}'s thread inside it");
        return false;
    }

    /// <summary>
    /// In-body check: the task runs on a CPU of its affinity, both the CPU the runtime records
    /// (<paramref name="cpuNow"/>) and the CPU whose thread runs the caller (when it is a runtime's CPU thread).
    /// </summary>
    /// <param name="task">The task's name.</param>
    /// <param name="allowed">Its affinity.</param>
    /// <param name="cpuNow">RawCpuId now.</param>
    /// <returns>True when the check held.</returns>
    public bool CheckAffinity(string task, CpuSet allowed, int cpuNow)
    {
        Interlocked.Increment(ref _checks);
        int thread = ThreadCpu.Id;
        bool recordOk = allowed.Contains(cpuNow);
        if (recordOk && (thread < 0 || thread == cpuNow))
        {
            return true;
        }

        Fail(Invariants.AffinityRespected, !recordOk
            ? $"task '{task}' with affinity {{{allowed}}} ran on CPU {cpuNow}"
            : $"task '{task}' with affinity {{{allowed}}}, recorded on CPU {cpuNow}, was run by cpu{thread}'s thread");
        return false;
    }

    /// <summary>In-body check inside a local lock section: the lock reports the task as this CPU's owner.</summary>
    /// <param name="task">The task's name.</param>
    /// <param name="cpu">The CPU whose instance it holds.</param>
    /// <param name="owner">The owner the lock reports for that CPU.</param>
    /// <param name="self">The task.</param>
    /// <returns>True when the check held.</returns>
    public bool CheckLockOwner(string task, int cpu, RtTask? owner, RtTask self)
    {
        Interlocked.Increment(ref _checks);
        if (ReferenceEquals(owner, self))
        {
            return true;
        }

        Fail(Invariants.LocalLockExclusive, $"task '{task}' holds cpu{cpu}'s local lock, which reports {(owner is null ? "no owner" : $"'{owner.Name}'")}");
        return false;
    }

    /// <summary>In-body check inside an RtMutex section: the mutex reports the task as its owner.</summary>
    /// <param name="task">The task's name.</param>
    /// <param name="owner">The owner the mutex reports.</param>
    /// <param name="self">The task.</param>
    /// <returns>True when the check held.</returns>
    public bool CheckMutexOwner(string task, RtTask? owner, RtTask self)
    {
        Interlocked.Increment(ref _checks);
        if (ReferenceEquals(owner, self))
        {
            return true;
        }

        Fail(Invariants.RtMutexExclusive, $"task '{task}' holds the RtMutex, which reports {(owner is null ? "no owner" : $"'{owner.Name}'")}");
        return false;
    }

    /// <summary>In-body check for a task that holds no local lock: it runs at its base priority (no boost left, its own change applied).</summary>
    /// <param name="task">The task's name.</param>
    /// <param name="self">The task.</param>
    /// <param name="expectedBase">Its base priority as the script last set it, or −1 when unchanged.</param>
    /// <returns>True when the check held.</returns>
    public bool CheckUnboosted(string task, RtTask self, int expectedBase = -1)
    {
        ArgumentNullException.ThrowIfNull(self);
        Interlocked.Increment(ref _checks);
        int basePrio = self.BasePriority;
        int effective = self.EffectivePriority;
        if (effective == basePrio && (expectedBase < 0 || basePrio == expectedBase))
        {
            return true;
        }

        Fail(Invariants.BoostReleased, $"task '{task}' holds no local lock and runs at priority {effective}, base {basePrio}{(expectedBase >= 0 ? $" (set to {expectedBase})" : string.Empty)}");
        return false;
    }

    /// <summary>Counts one check made outside the checker (e.g. a sum compared by a scenario).</summary>
    public void Count() => Interlocked.Increment(ref _checks);

    /// <summary>Checks that <paramref name="actual"/> equals <paramref name="expected"/>; else records a violation of <paramref name="invariant"/>.</summary>
    /// <param name="invariant">The invariant's name.</param>
    /// <param name="what">What is compared (for the message).</param>
    /// <param name="expected">The expected value.</param>
    /// <param name="actual">The value seen.</param>
    /// <returns>True when they are equal.</returns>
    public bool CheckEqual(string invariant, string what, long expected, long actual)
    {
        Count();
        if (expected == actual)
        {
            return true;
        }

        Fail(invariant, $"{what}: expected {expected}, got {actual} (off by {actual - expected})");
        return false;
    }

    /// <summary>Records a violation of <paramref name="invariant"/>.</summary>
    /// <param name="invariant">The invariant's name.</param>
    /// <param name="message">What was seen.</param>
    public void Fail(string invariant, string message)
    {
        _counts.AddOrUpdate(invariant, 1, static (_, n) => n + 1);
        if (Interlocked.Increment(ref _recorded) <= MaxRecorded)
        {
            _violations.Enqueue(new InvariantViolation(Scenario, invariant, message, Seed) { Reproduce = Reproduce });
        }
    }

    /// <summary>
    /// Waits up to <paramref name="drain"/> for the tracked tasks, stops the runtime, and checks: every task
    /// accounted for, each tracked task's end state allowed, nr_pinned back to 0 on every CPU, BUG reports
    /// as expected, a clean stop.
    /// </summary>
    /// <param name="runtime">The runtime (the one attached).</param>
    /// <param name="drain">How long tasks may take to finish before the stop cancels them.</param>
    /// <returns>The runtime's shutdown summary.</returns>
    public async Task<ShutdownSummary> StopAndCheckAsync(RtScheduler runtime, TimeSpan drain)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        TrackedTask[] tracked = _tracked.ToArray();
        Task[] pooled = _pooled.ToArray(); // each observer ends when its task does, and never throws
        Task all = Task.WhenAll(tracked.Select(t => t.Task.AsTask().ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default)).Concat(pooled));
        Task first = await Task.WhenAny(all, Task.Delay(drain)).ConfigureAwait(false);
        if (first != all)
        {
            int live = tracked.Count(t => !t.Task.IsCompleted);
            int livePooled = pooled.Count(t => !t.IsCompleted);
            string example = live > 0 ? $" (first: {tracked.First(t => !t.Task.IsCompleted).Task})" : string.Empty;
            Fail(Invariants.CleanStop, $"{live} task(s) and {livePooled} pooled task(s) still live {drain.TotalSeconds:0.#} s after the run ended{example}");
        }

        for (int cpu = 0; cpu < runtime.CpuCount; cpu++)
        {
            Interlocked.Increment(ref _checks);
            int pinned = runtime.NrPinned(cpu);
            if (first == all && pinned != 0)
            {
                Fail(Invariants.NrPinnedZero, $"CPU {cpu} has nr_pinned {pinned} after every task ended");
            }
        }

        ShutdownSummary summary = await runtime.StopAsync(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        _ = await Task.WhenAny(Task.WhenAll(pooled), Task.Delay(drain)).ConfigureAwait(false); // the stop ended any still running; one that did not end shows in the counts below
        runtime.BugReported -= OnBug;
        CheckSummary(runtime, summary, tracked, pooled);
        return summary;
    }

    private void CheckSummary(RtScheduler runtime, ShutdownSummary summary, TrackedTask[] tracked, Task[] pooled)
    {
        Interlocked.Add(ref _checks, 4 + tracked.Length + pooled.Length);
        if (!summary.AllAccountedFor)
        {
            Fail(Invariants.AllTasksAccounted, $"accepted {summary.Accepted} but completed {summary.Completed} + faulted {summary.Faulted} + cancelled {summary.Cancelled} = {summary.Completed + summary.Faulted + summary.Cancelled} (abandoned {summary.Abandoned})");
        }

        long pooledAccepted = Interlocked.Read(ref _pooledAccepted);
        if (summary.Accepted != tracked.Length + pooledAccepted)
        {
            Fail(Invariants.AllTasksAccounted, $"the harness spawned {tracked.Length} tasks and {pooledAccepted} pooled tasks but the runtime accepted {summary.Accepted}");
        }

        if (summary.Abandoned != 0)
        {
            Fail(Invariants.CleanStop, $"{summary.Abandoned} task(s) abandoned at stop (they passed no preemption point within the grace)");
        }

        for (int cpu = 0; cpu < runtime.CpuCount; cpu++)
        {
            int pinned = runtime.NrPinned(cpu);
            if (pinned != 0)
            {
                Fail(Invariants.NrPinnedZero, $"CPU {cpu} has nr_pinned {pinned} after the runtime stopped");
            }
        }

        long completed = Interlocked.Read(ref _pooledCompleted), faulted = Interlocked.Read(ref _pooledFaulted), cancelled = Interlocked.Read(ref _pooledCancelled);
        foreach (TrackedTask t in tracked)
        {
            switch (t.Task.State)
            {
                case RtTaskState.Completed:
                    completed++;
                    break;
                case RtTaskState.Faulted:
                    faulted++;
                    if (!t.FaultAllowed || t.Task.Exception is not InjectedFaultException)
                    {
                        Fail(Invariants.ExpectedOutcome, $"task '{t.Task.Name}' faulted: {t.Task.Exception?.GetType().Name}: {t.Task.Exception?.Message}");
                    }

                    break;
                case RtTaskState.Cancelled:
                    cancelled++;
                    if (!t.CancelAllowed && !Interruption.IsCancellationRequested)
                    {
                        Fail(Invariants.ExpectedOutcome, $"task '{t.Task.Name}' was cancelled but the harness never cancelled it");
                    }

                    break;
                default:
                    Fail(Invariants.AllTasksAccounted, $"task '{t.Task.Name}' is {t.Task.State} after the runtime stopped");
                    break;
            }
        }

        if (completed != summary.Completed || faulted != summary.Faulted || cancelled != summary.Cancelled)
        {
            Fail(Invariants.AllTasksAccounted, $"the harness counts completed/faulted/cancelled {completed}/{faulted}/{cancelled}, the runtime {summary.Completed}/{summary.Faulted}/{summary.Cancelled}");
        }

        long bugs = BugCount;
        if (bugs != ExpectedBugs)
        {
            string first = _bugs.TryPeek(out BugReport? b) ? $"; first: {b.Message}" : string.Empty;
            Fail(Invariants.NoBugReports, $"{bugs} BUG report(s), {ExpectedBugs} expected{first}");
        }
    }

    private void OnBug(BugReport report)
    {
        if (Interlocked.Increment(ref _bugCount) <= MaxRecorded)
        {
            _bugs.Enqueue(report);
        }
    }

    private sealed record TrackedTask(RtTask Task, bool FaultAllowed, bool CancelAllowed);
}
