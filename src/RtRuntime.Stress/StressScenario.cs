using System.Diagnostics;
using System.Globalization;
using RtRuntime.Cpus;

namespace RtRuntime.Stress;

/// <summary>
/// A stress scenario: starts one or more runtimes from <see cref="StressSettings"/>, puts tasks on them,
/// checks invariants and fills a <see cref="ScenarioResult"/>. Subclass it for a new scenario; the CLI
/// exposes a scenario as a subcommand through a <c>ScenarioCommand</c> registration.
/// </summary>
public abstract class StressScenario
{
    /// <summary>Creates a scenario named <paramref name="name"/>.</summary>
    /// <param name="name">The name shown in tables and reports (unique within a suite).</param>
    protected StressScenario(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
    }

    /// <summary>The name shown in tables and reports.</summary>
    public string Name { get; }

    /// <summary>The subcommand that runs this kind of scenario (<c>cyclic</c>, <c>pileup</c>, …).</summary>
    public abstract string Kind { get; }

    /// <summary>How many runtime runs of <see cref="StressSettings.Duration"/> the scenario makes (for progress and time estimates).</summary>
    public virtual int Runs => 1;

    /// <summary>
    /// How long the scenario should take: <see cref="Runs"/> × <see cref="StressSettings.Duration"/>. The
    /// watchdog's deadline is this plus <see cref="StressSettings.WatchdogGrace"/>. Null when the scenario
    /// has no planned time (it then has a watchdog only when the grace is set explicitly: the grace is its deadline).
    /// </summary>
    /// <param name="settings">The settings of the run.</param>
    public virtual TimeSpan? PlannedDuration(StressSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.Duration * Runs;
    }

    /// <summary>Runs the scenario.</summary>
    /// <param name="settings">The shared settings (validated here).</param>
    /// <param name="progress">Receives progress about four times a second; may be null.</param>
    /// <param name="cancellationToken">Stops the run early (the result then holds what was measured).</param>
    /// <returns>
    /// The result. When the watchdog fires (the run passes <see cref="PlannedDuration"/> plus
    /// <see cref="StressSettings.WatchdogGrace"/>), it holds an <see cref="Invariants.Watchdog"/> violation
    /// and <see cref="ScenarioResult.Watchdog"/>; if the run then did not end, it was abandoned and the
    /// result has no figures.
    /// </returns>
    /// <exception cref="ArgumentOutOfRangeException">A setting or scenario parameter is invalid.</exception>
    public async Task<ScenarioResult> RunAsync(StressSettings settings, IProgress<ScenarioProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        Validate();
        ScenarioResult result = NewResult(settings);
        long start = Stopwatch.GetTimestamp();
        if (ScenarioWatchdog.Create(result, PlannedDuration(settings), settings, start) is { } watchdog)
        {
            result = await watchdog.RunAsync(result, (r, p, ct) => RunCoreAsync(settings, r, p, ct), () => NewResult(settings), progress, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await RunCoreAsync(settings, result, progress, cancellationToken).ConfigureAwait(false);
        }

        result.Elapsed = Stopwatch.GetElapsedTime(start);
        progress?.Report(new ScenarioProgress(Name, 1.0, result.Passed ? "done" : "FAILED"));
        return result;
    }

    private ScenarioResult NewResult(StressSettings settings)
    {
        var result = new ScenarioResult(Name, Kind, settings.Seed)
        {
            Reproduce = ReproduceCommand(settings),
            Cpus = settings.EffectiveCpuCount,
        };
        result.Parameters["duration"] = FormatDuration(settings.Duration);
        result.Parameters["model"] = settings.Model.ToString();
        result.Parameters["pinning"] = settings.Pinning.ToString();
        result.Parameters["lockMemory"] = settings.LockMemory ? "true" : "false";
        result.Parameters["cpuDmaLatency"] = settings.CpuDmaLatency is { } latency ? FormatDuration(latency) : "none";
        return result;
    }

    /// <summary>The command line that reruns this scenario with <paramref name="settings"/>.</summary>
    /// <param name="settings">The settings of the run.</param>
    public virtual string ReproduceCommand(StressSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var args = new List<string> { "rtstress", Kind };
        args.AddRange(ReproduceArguments());
        args.Add("--cpus");
        args.Add(settings.EffectiveCpuCount.ToString(CultureInfo.InvariantCulture));
        args.Add("--duration");
        args.Add(FormatDuration(settings.Duration));
        args.Add("--seed");
        args.Add(settings.Seed.ToString(CultureInfo.InvariantCulture));
        if (UsesPolicySetting)
        {
            args.Add("--policy");
            args.Add(settings.Policy.ToString());
        }

        args.Add("--model");
        args.Add(settings.Model.ToString());
        args.Add(settings.Pinning == PinningMode.Pinned ? "--pin" : "--no-pin");
        if (settings.LockMemory)
        {
            args.Add("--lock-memory");
        }

        if (settings.CpuDmaLatency is { } dmaLatency)
        {
            args.Add("--cpu-dma-latency");
            args.Add(FormatDuration(dmaLatency));
        }

        if (settings.WatchdogGrace is { } grace)
        {
            args.Add("--watchdog");
            args.Add(grace == Timeout.InfiniteTimeSpan ? "off" : FormatDuration(grace));
        }

        return string.Join(' ', args);
    }

    /// <summary>Formats a duration the way the CLI parses it, exactly (<c>2s</c>, <c>500ms</c>, <c>100us</c>, <c>150500ns</c>).</summary>
    /// <param name="duration">The duration.</param>
    public static string FormatDuration(TimeSpan duration)
    {
        if (duration.Ticks % TimeSpan.TicksPerSecond == 0)
        {
            return ((long)duration.TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s";
        }

        if (duration.Ticks % TimeSpan.TicksPerMillisecond == 0)
        {
            return ((long)duration.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + "ms";
        }

        if (duration.Ticks % TimeSpan.TicksPerMicrosecond == 0)
        {
            return (duration.Ticks / TimeSpan.TicksPerMicrosecond).ToString(CultureInfo.InvariantCulture) + "us";
        }

        // A fraction of a µs (--interval 150.5us): exact in ns, so the reproduce command reruns the same value.
        return (duration.Ticks * TimeSpan.NanosecondsPerTick).ToString(CultureInfo.InvariantCulture) + "ns";
    }

    /// <summary>True when the scenario runs under <see cref="StressSettings.Policy"/> (false when it compares policies).</summary>
    protected virtual bool UsesPolicySetting => true;

    /// <summary>The scenario's own options for <see cref="ReproduceCommand"/> (e.g. <c>--interval 1ms</c>).</summary>
    protected virtual IEnumerable<string> ReproduceArguments() => [];

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> when a scenario parameter is invalid.</summary>
    protected virtual void Validate()
    {
    }

    /// <summary>Runs the scenario and fills <paramref name="result"/>.</summary>
    /// <param name="settings">The validated settings.</param>
    /// <param name="result">The result to fill.</param>
    /// <param name="progress">Progress receiver, or null.</param>
    /// <param name="cancellationToken">Stops the run early.</param>
    protected abstract Task RunCoreAsync(StressSettings settings, ScenarioResult result, IProgress<ScenarioProgress>? progress, CancellationToken cancellationToken);

    /// <summary>
    /// Starts a runtime for this run and puts it under the run's watchdog: when the watchdog fires, the
    /// runtime's snapshot (its live tasks) goes into the failure and the watchdog stops it. Start every
    /// runtime of a scenario through this (and stop it as usual).
    /// </summary>
    /// <param name="options">The runtime's options (e.g. <see cref="StressSettings.ToRuntimeOptions"/>).</param>
    /// <returns>The started runtime.</returns>
    protected static RtScheduler StartRuntime(RtSchedulerOptions options)
    {
        RtScheduler runtime = RtScheduler.Start(options);
        ScenarioWatchdog.Current?.Register(runtime);
        return runtime;
    }

    /// <summary>A checker for a run of this scenario, reporting the reproduce command.</summary>
    /// <param name="settings">The run's settings.</param>
    /// <param name="result">The run's result (its <see cref="ScenarioResult.Reproduce"/> is used).</param>
    /// <param name="interruption">The run's cancellation (Ctrl+C): after it, any tracked task may end cancelled.</param>
    protected InvariantChecker CreateChecker(StressSettings settings, ScenarioResult result, CancellationToken interruption = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(result);
        return new InvariantChecker(Name, settings.Seed) { Reproduce = result.Reproduce, Interruption = interruption };
    }

    /// <summary>
    /// Reports progress about four times a second until <paramref name="work"/> ends.
    /// </summary>
    /// <param name="work">The run being watched.</param>
    /// <param name="startNs">When it started (<see cref="RtClock.NowNs"/>).</param>
    /// <param name="durationNs">How long it should take.</param>
    /// <param name="progress">The receiver, or null (then it only awaits <paramref name="work"/>).</param>
    /// <param name="status">The running figures.</param>
    /// <param name="runIndex">Which of the scenario's <see cref="Runs"/> this is (0-based).</param>
    protected async Task WatchAsync(Task work, long startNs, long durationNs, IProgress<ScenarioProgress>? progress, Func<string> status, int runIndex = 0)
    {
        ArgumentNullException.ThrowIfNull(work);
        ArgumentNullException.ThrowIfNull(status);
        if (progress is not null)
        {
            while (!work.IsCompleted)
            {
                double own = Math.Clamp((RtClock.NowNs() - startNs) / (double)Math.Max(1, durationNs), 0, 1);
                progress.Report(new ScenarioProgress(Name, (runIndex + own) / Runs, status()));
                await Task.WhenAny(work, Task.Delay(250)).ConfigureAwait(false);
            }
        }

        await work.ConfigureAwait(false);
    }

    /// <summary>Copies the checker's violations and check count into the result.</summary>
    /// <param name="checker">The checker.</param>
    /// <param name="result">The result.</param>
    protected static void Collect(InvariantChecker checker, ScenarioResult result)
    {
        ArgumentNullException.ThrowIfNull(checker);
        ArgumentNullException.ThrowIfNull(result);
        foreach (InvariantViolation v in checker.Violations)
        {
            result.Violations.Add(v);
        }

        result.Checks += checker.Checks;
    }
}
