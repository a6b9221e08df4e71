using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RtRuntime.Stress.Reporting;

namespace RtRuntime.Stress;

/// <summary>
/// The watchdog of one scenario run. It runs the scenario's body on the ThreadPool and waits for it
/// until the deadline (the planned time plus the grace), or until the settle time after an
/// interruption. When that passes first it fires: it snapshots each runtime the scenario started
/// (<see cref="StressScenario.StartRuntime"/>), records an <see cref="Invariants.Watchdog"/> violation
/// naming the tasks still live, cancels the scenario (the token its checkers treat as the run's
/// interruption), waits the settle time, stops the runtimes itself with a bounded stop, waits the settle
/// time again, and then abandons the body. Every wait is bounded: a hung scenario cannot hang the suite,
/// and nothing here calls into a possibly deadlocked runtime on the waiting thread.
/// </summary>
internal sealed class ScenarioWatchdog
{
    /// <summary>The default grace is the longer of this and the planned time: past the scenarios' own bounded end-of-run waits (30 s drains).</summary>
    public static readonly TimeSpan MinimumDefaultGrace = TimeSpan.FromMinutes(2);

    /// <summary>The cancel grace of the watchdog's own stop of a runtime (<see cref="RtScheduler.StopAsync"/>), after the drain it skips.</summary>
    public static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan MinSettle = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxSettle = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan SnapshotTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan StopTimeout = StopGrace + StopGrace + TimeSpan.FromSeconds(3); // cancel grace + CPU thread join + slack
    private static readonly TimeSpan LongestTimer = TimeSpan.FromDays(40); // Task.Delay's limit is ~49.7 days
    private const int MaxTasksInMessage = 10;
    private static readonly AsyncLocal<ScenarioWatchdog?> s_current = new();

    private readonly ConcurrentQueue<RtScheduler> _runtimes = new();
    private readonly string _scenario;
    private readonly int _seed;
    private readonly string _reproduce;
    private readonly long _start;
    private readonly TimeSpan _planned;
    private readonly TimeSpan _grace;
    private readonly TimeSpan _settle;
    private readonly ILogger _logger;

    private ScenarioWatchdog(string scenario, int seed, string reproduce, long start, TimeSpan planned, TimeSpan grace, ILogger logger)
    {
        _scenario = scenario;
        _seed = seed;
        _reproduce = reproduce;
        _start = start;
        _planned = planned;
        _grace = grace;
        _settle = SettleFor(grace);
        _logger = logger;
    }

    /// <summary>The watchdog of the scenario run the calling code belongs to (it flows with the ExecutionContext), or null.</summary>
    public static ScenarioWatchdog? Current => s_current.Value;

    /// <summary>The watchdog for a run, or null when it has none (<see cref="GraceFor"/>).</summary>
    /// <param name="result">The run's result (name, seed and reproduce command).</param>
    /// <param name="planned">The scenario's planned time, or null when it has none.</param>
    /// <param name="settings">The run's settings (the grace and the logger).</param>
    /// <param name="start">The run's start (<see cref="Stopwatch.GetTimestamp"/>).</param>
    public static ScenarioWatchdog? Create(ScenarioResult result, TimeSpan? planned, StressSettings settings, long start)
    {
        TimeSpan? grace = GraceFor(planned, settings.WatchdogGrace);
        if (grace is null)
        {
            return null;
        }

        ILogger logger = settings.LoggerFactory?.CreateLogger("RtRuntime.Stress.Watchdog") ?? NullLogger.Instance;
        return new ScenarioWatchdog(result.Name, result.Seed, result.Reproduce, start, planned ?? TimeSpan.Zero, grace.Value, logger);
    }

    /// <summary>
    /// The grace past the planned time: the configured one; by default the longer of
    /// <see cref="MinimumDefaultGrace"/> and the planned time. Null (no watchdog) when configured
    /// <see cref="Timeout.InfiniteTimeSpan"/>, or by default for a scenario without a planned time.
    /// </summary>
    public static TimeSpan? GraceFor(TimeSpan? planned, TimeSpan? configured)
    {
        if (configured == Timeout.InfiniteTimeSpan)
        {
            return null;
        }

        if (configured is { } grace)
        {
            return grace;
        }

        return planned is { } p ? (p > MinimumDefaultGrace ? p : MinimumDefaultGrace) : null;
    }

    /// <summary>How long the watchdog waits after cancelling (and again after stopping the runtimes): the grace, within 1..10 s.</summary>
    public static TimeSpan SettleFor(TimeSpan grace) => grace < MinSettle ? MinSettle : grace > MaxSettle ? MaxSettle : grace;

    /// <summary>Watches <paramref name="runtime"/> for this run: snapshotted and stopped when the watchdog fires.</summary>
    public void Register(RtScheduler runtime) => _runtimes.Enqueue(runtime);

    /// <summary>
    /// Runs <paramref name="body"/> under the watchdog and returns the result: <paramref name="result"/>
    /// filled by the body (with the watchdog's violation first if it fired), or, when the body had to be
    /// abandoned, a fresh one from <paramref name="freshResult"/> (the abandoned body may still write to
    /// the first).
    /// </summary>
    public async Task<ScenarioResult> RunAsync(
        ScenarioResult result,
        Func<ScenarioResult, IProgress<ScenarioProgress>?, CancellationToken, Task> body,
        Func<ScenarioResult> freshResult,
        IProgress<ScenarioProgress>? progress,
        CancellationToken interruption)
    {
        s_current.Value = this; // flows into the body (Task.Run captures it); reverted when this method returns
        GatedProgress<ScenarioProgress>? gated = progress is null ? null : new GatedProgress<ScenarioProgress>(progress);
        var cancel = CancellationTokenSource.CreateLinkedTokenSource(interruption);
        // On the ThreadPool: a body that blocks its thread before its first await cannot block the watchdog.
        Task run = Task.Run(() => body(result, gated, cancel.Token), CancellationToken.None);
        string? reason = await WaitForEndAsync(run, interruption).ConfigureAwait(false);
        if (reason is null)
        {
            cancel.Dispose();
            await run.ConfigureAwait(false); // its exception, if any, as without a watchdog
            return result;
        }

        // Fired. Snapshot first (what was stuck, before any cancellation changes it), then cancel.
        TimeSpan firedAfter = Stopwatch.GetElapsedTime(_start);
        gated?.Close();
        progress?.Report(new ScenarioProgress(_scenario, 1.0, "watchdog fired: stopping"));
        var notes = new List<string>();
        List<(int Index, RuntimeSnapshot Snapshot)> snapshots = await SnapshotAsync(notes).ConfigureAwait(false);
        var firing = new WatchdogFiring(reason, _planned, _grace, firedAfter, snapshots.Select(s => s.Snapshot).ToArray());
        string stuck = Describe(snapshots, _runtimes.Count, unanswered: notes);
        var violation = new InvariantViolation(_scenario, Invariants.Watchdog,
            $"{reason}; {stuck}; full snapshot: {PlotWriter.Safe(_scenario)}-watchdog.json in the report folder", _seed) { Reproduce = _reproduce };
        WatchdogLog.Fired(_logger, _scenario, _seed, reason, stuck);
        foreach (string note in notes)
        {
            Note(firing, note);
        }

        bool ended = false;
        if (!interruption.IsCancellationRequested)
        {
            Task cancelling = cancel.CancelAsync(); // its callbacks (the runtime's task cancellations) run elsewhere: not awaited unbounded
            _ = cancelling.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            ended = await EndsWithinAsync(run, _settle).ConfigureAwait(false);
        }

        // else the interruption cancelled it already and it had the settle time to end.
        if (!ended)
        {
            Note(firing, $"it did not end within {S(_settle)} after it was cancelled; stopping its runtime(s) (no drain, {S(StopGrace)} cancel grace)");
            await StopRuntimesAsync(firing).ConfigureAwait(false);
            ended = await EndsWithinAsync(run, _settle).ConfigureAwait(false);
        }

        if (ended)
        {
            cancel.Dispose();
            try
            {
                await run.ConfigureAwait(false);
                Note(firing, $"it ended {S(Stopwatch.GetElapsedTime(_start) - firedAfter)} after the watchdog fired");
            }
            catch (Exception ex)
            {
                WatchdogLog.EndedWithException(_logger, _scenario, ex);
                Note(firing, $"it ended {S(Stopwatch.GetElapsedTime(_start) - firedAfter)} after the watchdog fired, with {ex.GetType().Name}: {ex.Message}");
            }

            result.Violations.Insert(0, violation);
            result.Watchdog = firing;
            return result;
        }

        // Abandoned: the body keeps its token (not disposed) and its result object; the suite goes on.
        firing.Abandoned = true;
        TimeSpan since = Stopwatch.GetElapsedTime(_start) - firedAfter;
        WatchdogLog.Abandoned(_logger, _scenario, since.TotalSeconds);
        firing.Notes.Add($"abandoned {S(since)} after the watchdog fired: it did not end after its cancellation and the stop of its runtime(s)");
        _ = run.ContinueWith(t => WatchdogLog.AbandonedFaulted(_logger, _scenario, t.Exception!), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        ScenarioResult abandoned = freshResult();
        abandoned.Violations.Add(violation);
        abandoned.Violations.Add(new InvariantViolation(_scenario, Invariants.ScenarioCompleted,
            $"abandoned: it did not end {S(since)} after the watchdog cancelled it and stopped its runtime(s); its figures are lost", _seed) { Reproduce = _reproduce });
        abandoned.Watchdog = firing;
        return abandoned;
    }

    /// <summary>Null when <paramref name="run"/> ended in time; else why the watchdog fires.</summary>
    private async Task<string?> WaitForEndAsync(Task run, CancellationToken interruption)
    {
        var interrupted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using CancellationTokenRegistration registration = interruption.Register(static s => ((TaskCompletionSource)s!).TrySetResult(), interrupted);
        using var timers = new CancellationTokenSource();
        TimeSpan deadline = _planned + _grace;
        Task deadlineReached = Delay(deadline - Stopwatch.GetElapsedTime(_start), timers.Token);
        Task first = await Task.WhenAny(run, deadlineReached, interrupted.Task).ConfigureAwait(false);
        string? reason = null;
        if (first == interrupted.Task)
        {
            // Interrupted (Ctrl+C): the scenario gets the settle time to wind down, not the rest of its deadline.
            Task settled = Delay(_settle, timers.Token);
            first = await Task.WhenAny(run, deadlineReached, settled).ConfigureAwait(false);
            if (first == settled)
            {
                reason = $"did not end within {S(_settle)} after it was interrupted";
            }
        }

        await timers.CancelAsync().ConfigureAwait(false);
        if (first == run)
        {
            return null;
        }

        return reason ?? $"still running {S(Stopwatch.GetElapsedTime(_start))} after it started, past its deadline of {S(deadline)} (planned {S(_planned)} + watchdog grace {S(_grace)})";
    }

    /// <summary>Snapshots each registered runtime still running, each on the ThreadPool with a bounded wait.</summary>
    private async Task<List<(int Index, RuntimeSnapshot Snapshot)>> SnapshotAsync(List<string> notes)
    {
        var snapshots = new List<(int, RuntimeSnapshot)>();
        int index = -1;
        foreach (RtScheduler rt in _runtimes)
        {
            index++;
            if (!rt.IsAccepting && rt.LiveTasks == 0)
            {
                continue; // stopped (an earlier run of the scenario), nothing left in it
            }

            Task<RuntimeSnapshot> take = Task.Run(rt.Snapshot);
            try
            {
                RuntimeSnapshot snapshot = await take.WaitAsync(SnapshotTimeout).ConfigureAwait(false);
                snapshots.Add((index, snapshot));
                if (_logger.IsEnabled(LogLevel.Debug))
                {
                    string json = snapshot.ToJson();
                    WatchdogLog.Snapshot(_logger, _scenario, index, json);
                }
            }
            catch (TimeoutException)
            {
                _ = take.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                notes.Add($"runtime {index}: no snapshot within {S(SnapshotTimeout)} (a CPU's lock is held: a deadlock in the runtime? the log's \"spinlock lockup suspected\" names the lock and the spinner's stack)");
            }
            catch (Exception ex)
            {
                notes.Add($"runtime {index}: the snapshot failed: {ex.GetType().Name}: {ex.Message}");
            }
        }

        return snapshots;
    }

    /// <summary>Stops every registered runtime not yet stopped (no drain, <see cref="StopGrace"/>), in parallel, within <see cref="StopTimeout"/>.</summary>
    private async Task StopRuntimesAsync(WatchdogFiring firing)
    {
        var stops = new List<(int Index, Task<ShutdownSummary> Stop)>();
        int index = -1;
        foreach (RtScheduler rt in _runtimes)
        {
            index++;
            if (!rt.IsAccepting && rt.LiveTasks == 0)
            {
                continue;
            }

            stops.Add((index, Task.Run(() => rt.StopAsync(TimeSpan.Zero, StopGrace))));
        }

        Task all = Task.WhenAll(stops.Select(s => s.Stop));
        await EndsWithinAsync(all, StopTimeout).ConfigureAwait(false);
        _ = all.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        foreach ((int i, Task<ShutdownSummary> stop) in stops)
        {
            if (stop.IsCompletedSuccessfully)
            {
                ShutdownSummary s = stop.Result;
                Note(firing, $"runtime {i} stopped: {s.Accepted} accepted, {s.Completed} completed, {s.Faulted} faulted, {s.Cancelled} cancelled, {s.Abandoned} abandoned"
                    + (s.Abandoned > 0 ? " (running, they never reached a preemption point)" : string.Empty));
            }
            else if (stop.IsCompleted)
            {
                Exception? e = stop.Exception?.GetBaseException();
                Note(firing, $"runtime {i}: its stop failed: {e?.GetType().Name}: {e?.Message}");
            }
            else
            {
                Note(firing, $"runtime {i}: its stop did not finish within {S(StopTimeout)}");
            }
        }
    }

    private void Note(WatchdogFiring firing, string note)
    {
        firing.Notes.Add(note);
        WatchdogLog.Note(_logger, _scenario, note);
    }

    /// <summary>
    /// The live tasks of each snapshot, for the failure message: name, state, CPU, priority, guards; then
    /// what each CPU runs. <paramref name="unanswered"/>: why a running runtime gave no snapshot (its CPU's
    /// lock held: a deadlock inside the runtime, not a scenario stuck outside it).
    /// </summary>
    internal static string Describe(IReadOnlyList<(int Index, RuntimeSnapshot Snapshot)> snapshots, int runtimes, IReadOnlyList<string> unanswered)
    {
        if (snapshots.Count == 0 && unanswered.Count == 0)
        {
            return runtimes == 0 ? "no runtime started through StartRuntime, no task to list" : "no runtime of the scenario still running (it is stuck outside the runtime)";
        }

        var parts = new List<string>(unanswered);
        foreach ((int index, RuntimeSnapshot s) in snapshots)
        {
            string prefix = runtimes > 1 ? $"runtime {index}: " : string.Empty;
            string cpus = string.Join(", ", s.Cpus.Select(c => $"cpu{c.Id} " + (c.Online ? string.Empty : "offline ") + (c.CurrentTask is null ? "idle" : "runs " + c.CurrentTask)));
            if (s.Tasks.Count == 0)
            {
                parts.Add($"{prefix}no live task ({cpus})");
                continue;
            }

            string tasks = string.Join(", ", s.Tasks.Take(MaxTasksInMessage).Select(Describe));
            string more = s.Tasks.Count > MaxTasksInMessage ? $" and {s.Tasks.Count - MaxTasksInMessage} more" : string.Empty;
            parts.Add($"{prefix}{s.Tasks.Count} live task(s): {tasks}{more} ({cpus})");
        }

        return string.Join("; ", parts);
    }

    private static string Describe(TaskSnapshot t) =>
        $"{t.Name} [{t.State}, cpu{t.Cpu}, prio {t.EffectivePriority}"
        + (t.PreemptDepth > 0 ? $", preempt-disabled {t.PreemptDepth}" : string.Empty)
        + (t.MigrateDisableDepth > 0 ? $", migrate-disabled {t.MigrateDisableDepth}" : string.Empty)
        + "]";

    private static async Task<bool> EndsWithinAsync(Task task, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource();
        Task first = await Task.WhenAny(task, Delay(timeout, cts.Token)).ConfigureAwait(false);
        await cts.CancelAsync().ConfigureAwait(false);
        return first == task;
    }

    private static Task Delay(TimeSpan due, CancellationToken cancellationToken) =>
        due <= TimeSpan.Zero ? Task.CompletedTask : Task.Delay(due > LongestTimer ? Timeout.InfiniteTimeSpan : due, cancellationToken);

    private static string S(TimeSpan t) => t.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";
}
