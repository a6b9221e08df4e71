using System.Globalization;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Stress;

/// <summary>
/// Priority inversion, the textbook case, in rounds: on one CPU (each CPU in turn), a low task (FIFO 10)
/// takes a lock, a middle task (FIFO 30) that needs none preempts it and computes for
/// <see cref="MiddleWork"/>, and a high task (FIFO 50) asks for the lock while the holder has
/// <see cref="HolderRest"/> of its section left. Rounds alternate an <see cref="RtMutex"/> (priority
/// inheritance: the holder runs at 50 until it unlocks) and an <see cref="RtSemaphore"/> of one permit
/// (no owner, no inheritance: the holder waits under the middle task, and so does the high task). The
/// invariant is exact: under the RtMutex the middle task makes no progress while the high task waits.
/// The waits are figures (reported, not asserted).
/// </summary>
public sealed class InversionScenario : StressScenario
{
    private const int Low = 10;
    private const int Middle = 30;
    private const int High = 50;

    /// <summary>Creates the scenario (name <c>inversion</c> by default).</summary>
    /// <param name="name">The name shown in reports.</param>
    public InversionScenario(string name = "inversion")
        : base(name)
    {
    }

    /// <inheritdoc/>
    public override string Kind => "inversion";

    /// <summary>How long the middle task computes once the high task asked (10 µs..1 s; default 2 ms).</summary>
    public TimeSpan MiddleWork { get; init; } = TimeSpan.FromMilliseconds(2);

    /// <summary>How much of the holder's section is left when the high task asks (0..1 s; default 50 µs).</summary>
    public TimeSpan HolderRest { get; init; } = TimeSpan.FromMicroseconds(50);

    /// <summary>What to break on purpose, to see the check catch it. Default <see cref="InversionInjection.None"/>.</summary>
    public InversionInjection Inject { get; init; }

    /// <inheritdoc/>
    protected override IEnumerable<string> ReproduceArguments() =>
        Inject == InversionInjection.None
            ? ["--middle-work", FormatDuration(MiddleWork), "--holder-rest", FormatDuration(HolderRest)]
            : ["--inject", Inject.ToString().ToLowerInvariant(), "--middle-work", FormatDuration(MiddleWork), "--holder-rest", FormatDuration(HolderRest)];

    /// <inheritdoc/>
    protected override void Validate()
    {
        if (MiddleWork < TimeSpan.FromMicroseconds(10) || MiddleWork > TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(MiddleWork), MiddleWork, "MiddleWork must be 10 µs..1 s.");
        }

        if (HolderRest < TimeSpan.Zero || HolderRest > TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(HolderRest), HolderRest, "HolderRest must be 0..1 s.");
        }

        if (!Enum.IsDefined(Inject))
        {
            throw new ArgumentOutOfRangeException(nameof(Inject), Inject, "Inject must be None or NoInheritance.");
        }
    }

    /// <inheritdoc/>
    protected override async Task RunCoreAsync(StressSettings settings, ScenarioResult result, IProgress<ScenarioProgress>? progress, CancellationToken cancellationToken)
    {
        int cpus = settings.EffectiveCpuCount;
        long durationNs = RtClock.ToNs(settings.Duration);
        long middleNs = RtClock.ToNs(MiddleWork);
        long restNs = RtClock.ToNs(HolderRest);
        result.Parameters["middle_work"] = FormatDuration(MiddleWork);
        result.Parameters["holder_rest"] = FormatDuration(HolderRest);
        result.Parameters["inject"] = Inject.ToString();
        InvariantChecker checker = CreateChecker(settings, result, cancellationToken);
        await using RtScheduler rt = StartRuntime(settings.ToRuntimeOptions(settings.Policy));
        checker.Attach(rt);

        var mutexWaits = new LatencyHistogram("RtMutex");
        var semaphoreWaits = new LatencyHistogram("RtSemaphore(1)");
        long middleRanUnderMutex = 0, middleRanUnderSemaphore = 0, rounds = 0;
        long start = RtClock.NowNs();
        Task run = RunRoundsAsync();
        await WatchAsync(run, start, durationNs, progress, () => $"{rounds} rounds, RtMutex p50 {mutexWaits.P50Us:0.0} µs, RtSemaphore(1) p50 {semaphoreWaits.P50Us:0.0} µs").ConfigureAwait(false);
        await checker.StopAndCheckAsync(rt, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        Collect(checker, result);

        result.AddFigure("rounds", rounds, "count");
        result.AddFigure("mutex_wait_p50_us", mutexWaits.P50Us, "us", summary: true);
        result.AddFigure("mutex_wait_p99_us", mutexWaits.P99Us, "us");
        result.AddFigure("mutex_wait_max_us", mutexWaits.MaxUs, "us");
        result.AddFigure("semaphore_wait_p50_us", semaphoreWaits.P50Us, "us", summary: true);
        result.AddFigure("semaphore_wait_p99_us", semaphoreWaits.P99Us, "us");
        result.AddFigure("middle_chunks_during_mutex_waits", middleRanUnderMutex, "count");
        result.AddFigure("middle_chunks_during_semaphore_waits", middleRanUnderSemaphore, "count");
        result.HistogramPlot = new HistogramPlot("lock-wait", "the high task's wait for the lock", "wait (µs)");
        result.Histograms.Add(mutexWaits);
        result.Histograms.Add(semaphoreWaits);
        result.Tables.Add(new ResultTable($"The high task's wait for the lock ({FormatDuration(HolderRest)} of the holder's section left, the middle task {FormatDuration(MiddleWork)} of work), µs",
            ["lock", "rounds", "p50", "p99", "max", "the middle task's 1 µs chunks while the high task waited"],
            [
                ["RtMutex (priority inheritance)", mutexWaits.Count.ToString(CultureInfo.InvariantCulture), Us(mutexWaits.P50Us), Us(mutexWaits.P99Us), Us(mutexWaits.MaxUs), middleRanUnderMutex.ToString(CultureInfo.InvariantCulture)],
                ["RtSemaphore(1) (none)", semaphoreWaits.Count.ToString(CultureInfo.InvariantCulture), Us(semaphoreWaits.P50Us), Us(semaphoreWaits.P99Us), Us(semaphoreWaits.MaxUs), middleRanUnderSemaphore.ToString(CultureInfo.InvariantCulture)],
            ]));

        async Task RunRoundsAsync()
        {
            // At least one round of each lock, however short the duration or slow the machine.
            while ((rounds < 2 || RtClock.NowNs() - start < durationNs) && !cancellationToken.IsCancellationRequested)
            {
                bool mutex = rounds % 2 == 0;
                int cpu = (int)(rounds / 2 % cpus);
                // Injected: the round checked as an RtMutex round takes the semaphore, a lock without inheritance.
                bool useMutex = mutex && Inject == InversionInjection.None;
                (long waitNs, long middleChunks) = await RoundAsync(rt, checker, cpu, useMutex, restNs, middleNs, cancellationToken).ConfigureAwait(false);
                if (waitNs >= 0)
                {
                    (mutex ? mutexWaits : semaphoreWaits).Record(waitNs);
                    if (mutex)
                    {
                        middleRanUnderMutex += middleChunks;
                        checker.CheckEqual(Invariants.PriorityInheritanceBounds, $"the middle task's chunks on cpu{cpu} while the high task waited for the RtMutex (round {rounds})", 0, middleChunks);
                    }
                    else
                    {
                        middleRanUnderSemaphore += middleChunks;
                    }
                }

                rounds++;
            }
        }
    }

    private static string Us(double us) => us.ToString("0.0", CultureInfo.InvariantCulture);

    /// <summary>Computes until <paramref name="condition"/> holds, in 1 µs chunks each ending at a preemption point.</summary>
    private static async ValueTask ComputeUntilAsync(TaskContext ctx, Func<bool> condition, CancellationToken cancellationToken)
    {
        while (!condition() && !cancellationToken.IsCancellationRequested)
        {
            await ComputeAsync(ctx, 1_000);
        }
    }

    /// <summary>Computes for <paramref name="ns"/>, a preemption point after every µs.</summary>
    private static async ValueTask ComputeAsync(TaskContext ctx, long ns)
    {
        long end = RtClock.NowNs() + ns;
        do
        {
            Busy.For(Math.Min(1_000, end - RtClock.NowNs()));
            await ctx.PreemptionPoint();
        }
        while (RtClock.NowNs() < end);
    }

    /// <summary>One round on <paramref name="cpu"/>: the high task's wait and the middle task's chunks meanwhile (−1, 0 when cancelled before the high task asked).</summary>
    private static async Task<(long WaitNs, long MiddleChunks)> RoundAsync(RtScheduler rt, InvariantChecker checker, int cpu, bool useMutex, long restNs, long middleNs, CancellationToken cancellationToken)
    {
        CpuSet on = CpuSet.Of(cpu);
        var mutex = new RtMutex(rt, "inversion/m");
        var semaphore = new RtSemaphore(1, 1);
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var middleStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int asked = 0;
        long middleChunks = 0, chunksAtAsk = 0, waitNs = -1, chunksWhileWaiting = 0;
        RtTask low = rt.Spawn("inversion/low", Low, async ctx =>
        {
            RtMutexGuard guard = default;
            if (useMutex)
            {
                guard = await mutex.LockAsync(ctx);
            }
            else
            {
                await semaphore.WaitAsync(ctx);
            }

            try
            {
                held.TrySetResult();
                await ComputeUntilAsync(ctx, () => Volatile.Read(ref asked) == 1, cancellationToken); // the middle task preempts it meanwhile
                await ComputeAsync(ctx, restNs); // the rest of its section
            }
            finally
            {
                // Also when an interruption cancels it at a point of its section: a task that ends holding the
                // RtMutex is a real BUG report ("lock held when task exited"), which failed 'no-bug-reports'.
                if (useMutex)
                {
                    guard.Dispose();
                }
                else
                {
                    semaphore.Release();
                }
            }
        }, SchedPolicy.Fifo, on, cancellationToken);
        checker.Track(low);

        // Not held.Task.WaitAsync(cancellationToken): a Ctrl+C (or the watchdog) before the low task took the
        // lock threw OperationCanceledException out of the scenario, which lost its result (and the CLI's
        // report). The round ends with its tasks instead: one cancelled before it got there has ended.
        if (!await ReachedAsync(held.Task, low).ConfigureAwait(false))
        {
            await EndedAsync(low).ConfigureAwait(false);
            return (-1, 0);
        }

        RtTask middle = rt.Spawn("inversion/middle", Middle, async ctx =>
        {
            middleStarted.TrySetResult();
            await ComputeUntilAsync(ctx, () => Volatile.Read(ref asked) == 1, cancellationToken);
            long end = RtClock.NowNs() + middleNs;
            while (RtClock.NowNs() < end)
            {
                await ComputeAsync(ctx, 1_000);
                Volatile.Write(ref middleChunks, middleChunks + 1);
            }
        }, SchedPolicy.Fifo, on, cancellationToken);
        checker.Track(middle);
        if (!await ReachedAsync(middleStarted.Task, middle).ConfigureAwait(false))
        {
            await EndedAsync(low, middle).ConfigureAwait(false); // the low task stops waiting for the ask once cancelled
            return (-1, 0);
        }

        RtTask high = rt.Spawn("inversion/high", High, async ctx =>
        {
            chunksAtAsk = Volatile.Read(ref middleChunks);
            long askedAt = RtClock.NowNs();
            Volatile.Write(ref asked, 1);
            if (useMutex)
            {
                using (await mutex.LockAsync(ctx))
                {
                    waitNs = RtClock.NowNs() - askedAt;
                    chunksWhileWaiting = Volatile.Read(ref middleChunks) - chunksAtAsk;
                }
            }
            else
            {
                await semaphore.WaitAsync(ctx);
                waitNs = RtClock.NowNs() - askedAt;
                chunksWhileWaiting = Volatile.Read(ref middleChunks) - chunksAtAsk;
                semaphore.Release();
            }
        }, SchedPolicy.Fifo, on, cancellationToken);
        checker.Track(high);
        await EndedAsync(low, middle, high).ConfigureAwait(false);
        return (waitNs, chunksWhileWaiting);
    }

    /// <summary>
    /// True once <paramref name="reached"/> completes; false when <paramref name="task"/> ended first (cancelled
    /// before its first step, or faulted: the checker reports that).
    /// </summary>
    private static async Task<bool> ReachedAsync(Task reached, RtTask task)
    {
        await Task.WhenAny(reached, task.AsTask()).ConfigureAwait(false);
        return reached.IsCompleted;
    }

    /// <summary>Waits for <paramref name="tasks"/> to end, however they end (the checker checks how).</summary>
    private static Task EndedAsync(params RtTask[] tasks) =>
        Task.WhenAll(tasks.Select(t => t.AsTask())).ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
}
