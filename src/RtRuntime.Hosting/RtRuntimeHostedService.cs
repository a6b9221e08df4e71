using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Hosting;

/// <summary>
/// Owns the runtime's life inside a Generic Host. An <see cref="IHostedService"/>, not a
/// <c>BackgroundService</c>: the runtime owns its CPU threads, and starting (pinning) them in
/// <see cref="StartAsync"/> makes a pinning failure fail host start.
/// </summary>
/// <remarks>
/// Stop sequence: (1) the workers' stopping token is cancelled; (2) the runtime stops accepting tasks
/// and drains for what is left of the host's shutdown timeout (counted from the host's stop: StoppingAsync)
/// minus the cancel grace; (3) it cancels what is left and
/// gives it the grace; (4) the summary is logged and published on <see cref="RtRuntimeAccessor.Stopped"/>.
/// If the token <see cref="StopAsync"/> receives fires first (other hosted services used up the
/// budget, or the caller's token), the workers' tasks are cancelled at once and this method returns;
/// the summary is logged when the runtime finishes stopping.
/// </remarks>
internal sealed class RtRuntimeHostedService : IHostedLifecycleService, IAsyncDisposable, IDisposable
{
    private readonly RtRuntimeAccessor _accessor;
    private readonly IServiceProvider _services;
    private readonly IOptions<RtSchedulerOptions> _options;
    private readonly IOptions<RtRuntimeHostingOptions> _hostingOptions;
    private readonly IOptionsMonitor<RtWorkerOptions> _workerOptions;
    private readonly RtWorkerRegistration[] _registrations;
    private readonly HostOptions _hostOptions;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<RtTask> _workerTasks = [];
    private readonly List<Task> _workerObservers = []; // each worker's outcome log (ObserveWorkerAsync), by _workerTasks' index
    private long _hostStoppingAt; // Stopwatch timestamp of the host's stop (StoppingAsync; else ApplicationStopping): the host's shutdown timeout runs from about then
    private CancellationTokenRegistration _stoppingRegistration;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously); // the summary published

    public RtRuntimeHostedService(
        RtRuntimeAccessor accessor,
        IServiceProvider services,
        IOptions<RtSchedulerOptions> options,
        IOptions<RtRuntimeHostingOptions> hostingOptions,
        IOptionsMonitor<RtWorkerOptions> workerOptions,
        IEnumerable<RtWorkerRegistration> registrations,
        IOptions<HostOptions> hostOptions,
        IHostApplicationLifetime lifetime,
        ILogger<RtRuntimeHostedService> logger)
    {
        _accessor = accessor;
        _services = services;
        _options = options;
        _hostingOptions = hostingOptions;
        _workerOptions = workerOptions;
        _registrations = registrations.ToArray();
        _hostOptions = hostOptions.Value;
        _lifetime = lifetime;
        _logger = new RtRuntime.Diagnostics.NonThrowingLogger(logger); // a sink's exception must not end a start, a stop or the summary
    }

    /// <summary>Starts and pins the CPUs, then spawns every registered RT worker.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        RtScheduler runtime;
        try
        {
            runtime = RtScheduler.Start(_options.Value);
        }
        catch (Exception ex)
        {
            HostingLog.StartFailed(_logger, ex);
            _accessor.OnStartFailed(ex);
            throw;
        }

        _accessor.OnStarted(runtime);
        runtime.DisposeOwner = StopAtDisposeAsync; // the container disposes an injected RtScheduler before this service
        _stoppingRegistration = _lifetime.ApplicationStopping.Register(() => Interlocked.CompareExchange(ref _hostStoppingAt, Stopwatch.GetTimestamp(), 0));
        try
        {
            foreach (RtWorkerRegistration registration in _registrations)
            {
                SpawnWorker(runtime, registration);
            }
        }
        catch (Exception ex)
        {
            // A worker whose affinity names CPUs this runtime does not have (or whose constructor threw)
            // fails host start like a pinning failure; the runtime and the workers already spawned stop first.
            HostingLog.StartFailed(_logger, ex);
            await CancelStoppingTokenAsync().ConfigureAwait(false);
            foreach (RtTask task in _workerTasks)
            {
                task.Cancel();
            }

            await runtime.StopAsync(TimeSpan.Zero, _hostingOptions.Value.CancelGrace, CancellationToken.None).ConfigureAwait(false);
            await WorkerOutcomesLoggedAsync().ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _accessor.OnStartFailed(ex);
            throw;
        }

        _ = _services.GetRequiredService<RtWorkersDisposalGuard>(); // created after the workers: disposed before them, it stops the runtime first
        HostingLog.Started(_logger, runtime.CpuCount, runtime.Cores, _registrations.Length);
    }

    /// <summary>Nothing to do before the hosted services start: the CPUs start in <see cref="StartAsync"/>.</summary>
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Nothing to do once every hosted service started.</summary>
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Marks when the host's stop began: the host calls this from <c>IHost.StopAsync</c>, where it starts its
    /// shutdown timeout, before any hosted service's <c>StopAsync</c>. ApplicationStopping alone is not that
    /// moment: an application may call <c>StopApplication</c>, clean up, and stop the host long after, and
    /// counted from then the runtime would find its whole budget spent and cancel its tasks without a drain.
    /// </summary>
    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        Volatile.Write(ref _hostStoppingAt, Stopwatch.GetTimestamp());
        return Task.CompletedTask;
    }

    /// <summary>Nothing to do after every hosted service stopped: the summary is published by <see cref="StopAsync"/>.</summary>
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Stops accepting work, drains within the host's shutdown timeout, cancels the rest, logs the summary.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!_accessor.TryGetRuntime(out RtScheduler? runtime) || !_accessor.TryBeginStop())
        {
            // Never started, failed to start, or already stopped; a stop under way (a second IHost.StopAsync)
            // is waited for, within this call's token, as the first one waits.
            if (_accessor.State == RtRuntimeState.Stopping)
            {
                try
                {
                    await _stopped.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    // this caller's deadline: the stop goes on in the background
                }
            }

            return;
        }

        await CancelStoppingTokenAsync().ConfigureAwait(false);

        (TimeSpan drain, TimeSpan grace) = StopBudget(RemainingShutdownTimeout(), _hostingOptions.Value.CancelGrace);
        HostingLog.Stopping(_logger, runtime.LiveTasks, drain, grace);
        Task<ShutdownSummary> stop = runtime.StopAsync(drain, grace, cancellationToken); // the host's token ends the drain early
        Task published = PublishSummaryAsync(stop); // never throws

        try
        {
            await published.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host's deadline came first (the stop may still finish in the meantime: then fall through
            // and report its outcome). The runtime has already ended its drain and cancels every task;
            // cancel the workers' own tokens too.
            if (!published.IsCompleted)
            {
                HostingLog.ShutdownTimeoutExpired(_logger, runtime.LiveTasks);
                foreach (RtTask task in _workerTasks)
                {
                    task.Cancel();
                }

                return;
            }
        }

        await stop.ConfigureAwait(false); // rethrows a stop failure (already logged) to the host
    }

    /// <summary>
    /// Stops the runtime if the host never did: a hosted service after this one failed to start (the
    /// host then stops no service), or the host was disposed without a stop. Without this the CPU
    /// threads and the workers would outlive the host. No drain; the workers are cancelled at once
    /// and get <see cref="RtRuntimeHostingOptions.CancelGrace"/> to end; the summary is published.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await StopAtDisposeAsync().ConfigureAwait(false);
        _stoppingRegistration.Dispose();
        _stopping.Dispose();
    }

    /// <summary>
    /// The stop of <see cref="DisposeAsync"/>; also run by the runtime's own DisposeAsync (the container
    /// disposes an injected RtScheduler first), and by <see cref="RtWorkersDisposalGuard"/> (before the
    /// workers are disposed). A stop the host's deadline cut short goes on in the
    /// background (its grace is bounded): this waits for it, so no CPU thread outlives the host.
    /// </summary>
    internal async ValueTask StopAtDisposeAsync()
    {
        if (_accessor.TryGetRuntime(out RtScheduler? runtime) && _accessor.TryBeginStop())
        {
            HostingLog.StoppingAtDispose(_logger, runtime.LiveTasks);
            await CancelStoppingTokenAsync().ConfigureAwait(false);
            await PublishSummaryAsync(runtime.StopAsync(TimeSpan.Zero, _hostingOptions.Value.CancelGrace)).ConfigureAwait(false);
        }
        else if (_accessor.State == RtRuntimeState.Stopping)
        {
            await _stopped.Task.ConfigureAwait(false);
        }
    }

    /// <summary>See <see cref="DisposeAsync"/> (a container disposed synchronously).</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>
    /// The host's shutdown timeout left when this service stops: the host starts it when it begins
    /// stopping (<see cref="StoppingAsync"/>; ApplicationStopping when the host never called that) and stops
    /// the hosted services registered after this one first, so their stop time is no longer this one's to
    /// spend. (Their own StoppingAsync, which the host calls before this one's, is not counted.)
    /// </summary>
    private TimeSpan RemainingShutdownTimeout()
    {
        TimeSpan timeout = _hostOptions.ShutdownTimeout;
        long since = Volatile.Read(ref _hostStoppingAt);
        if (timeout == Timeout.InfiniteTimeSpan || since == 0)
        {
            return timeout; // not stopped through the host (a direct StopAsync call): the whole timeout
        }

        TimeSpan left = timeout - Stopwatch.GetElapsedTime(since);
        return left < TimeSpan.Zero ? TimeSpan.Zero : left;
    }

    /// <summary>
    /// Splits the host's shutdown timeout into a drain and a cancel grace: a tenth of the timeout (at most
    /// 1 s) is kept for the teardown, the grace is the configured one capped at half of what is left, and
    /// the drain is the rest, so the cancellation and the summary happen before the host gives up. An
    /// infinite timeout drains without limit.
    /// </summary>
    internal static (TimeSpan Drain, TimeSpan Grace) StopBudget(TimeSpan shutdownTimeout, TimeSpan cancelGrace)
    {
        if (shutdownTimeout == Timeout.InfiniteTimeSpan)
        {
            return (Timeout.InfiniteTimeSpan, cancelGrace);
        }

        // A tenth of the timeout (at most 1 s) is kept for the teardown after the grace (the CPU threads'
        // exit, the summary), so that the summary is logged before the host gives up.
        TimeSpan timeout = shutdownTimeout < TimeSpan.Zero ? TimeSpan.Zero : shutdownTimeout;
        TimeSpan reserve = timeout / 10 < TimeSpan.FromSeconds(1) ? timeout / 10 : TimeSpan.FromSeconds(1);
        TimeSpan total = timeout - reserve;
        TimeSpan grace = cancelGrace < total / 2 ? cancelGrace : total / 2;
        return (total - grace, grace);
    }

    private void SpawnWorker(RtScheduler runtime, RtWorkerRegistration registration)
    {
        var worker = (RtWorker)_services.GetRequiredService(registration.WorkerType);
        worker.Name = registration.Name;
        RtWorkerOptions options = _workerOptions.Get(registration.Name);
        CpuSet? affinity = string.IsNullOrWhiteSpace(options.Affinity) ? null : CpuSet.Parse(options.Affinity);
        CancellationToken stoppingToken = _stopping.Token;

        // No spawn token: the stopping token is a request to the worker; the runtime's own cancel after
        // the drain is the hard stop.
        RtTask task;
        try
        {
            task = runtime.Spawn(registration.Name, options.EffectivePriority, ctx => worker.RunAsync(ctx, stoppingToken), options.Policy, affinity);
        }
        catch (ArgumentOutOfRangeException ex) when (ex.ParamName == "affinity")
        {
            // Only the started runtime knows its CPUs: name the configuration key the user wrote, not the Spawn argument.
            // The runtime's reason without its "(Parameter 'affinity')" and actual-value lines: this
            // exception names its own parameter and value.
            string key = RtRuntimeConfiguration.WorkerSectionName(registration.Name) + ":Affinity";
            string reason = ex.Message;
            int suffix = reason.IndexOf(" (Parameter '", StringComparison.Ordinal);
            throw new ArgumentOutOfRangeException(key, options.Affinity, $"{key} = '{options.Affinity}' is invalid: the runtime has CPUs 0-{runtime.CpuCount - 1}; {(suffix >= 0 ? reason[..suffix] : reason)}");
        }

        worker.SetTask(task);
        _workerTasks.Add(task);
        HostingLog.WorkerStarted(_logger, registration.Name, options.Policy, options.EffectivePriority, task.Affinity);
        _workerObservers.Add(ObserveWorkerAsync(runtime, registration.Name, task));
    }

    /// <summary>
    /// Completes once the outcome of every worker whose task has ended is logged. The observers log on
    /// the thread pool after the task ended; a stop waits for them before its summary, so that a
    /// worker's fault at stop is logged before the summary and before the host's StopAsync returns (and
    /// the host is disposed, the process perhaps exiting). A task still running (abandoned) is not
    /// waited for: its outcome, if it ever ends, is logged when it comes.
    /// </summary>
    private Task WorkerOutcomesLoggedAsync()
    {
        var ended = new List<Task>(_workerObservers.Count);
        for (int i = 0; i < _workerObservers.Count; i++)
        {
            if (_workerTasks[i].IsCompleted)
            {
                ended.Add(_workerObservers[i]);
            }
        }

        return Task.WhenAll(ended);
    }

    private async Task ObserveWorkerAsync(RtScheduler runtime, string name, RtTask task)
    {
        try
        {
            await task.AsTask().ConfigureAwait(false);
            HostingLog.WorkerCompleted(_logger, name);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested || !runtime.IsAccepting)
        {
            // Cancelled by a stop (the host's stopping token, or the runtime's cancel after the drain).
            HostingLog.WorkerCancelled(_logger, name);
        }
        catch (Exception ex)
        {
            // A fault, including an OperationCanceledException the worker threw while nobody stopped it
            // (as a BackgroundService's would be).
            HostingLog.WorkerFaulted(_logger, ex, name);
            _accessor.OnWorkerFaulted(ex); // before the host stops: RtRuntimeAccessor.WorkerFault, for the exit code
            if (_hostOptions.BackgroundServiceExceptionBehavior == BackgroundServiceExceptionBehavior.StopHost)
            {
                HostingLog.StoppingHostAfterWorkerFault(_logger, name);
                _lifetime.StopApplication();
            }
        }
    }

    /// <summary>
    /// Cancels the workers' stopping token. Its callbacks are the workers' code: one that throws is logged
    /// (every callback still runs, the token is cancelled) and the stop goes on; let through, it would end
    /// this stop before the runtime's, leaving the runtime running and its CPU threads behind the host.
    /// </summary>
    private async Task CancelStoppingTokenAsync()
    {
        try
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            HostingLog.StoppingTokenCallbackFailed(_logger, ex);
        }
    }

    private async Task PublishSummaryAsync(Task<ShutdownSummary> stop)
    {
        try
        {
            await PublishSummaryCoreAsync(stop).ConfigureAwait(false);
        }
        finally
        {
            _stopped.TrySetResult(); // a second StopAsync waits for this
        }
    }

    private async Task PublishSummaryCoreAsync(Task<ShutdownSummary> stop)
    {
        ShutdownSummary summary;
        try
        {
            summary = await stop.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await WorkerOutcomesLoggedAsync().ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            HostingLog.StopFailed(_logger, ex);
            _accessor.OnStopFailed(ex);
            return;
        }

        await WorkerOutcomesLoggedAsync().ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (summary.AllAccountedFor && summary.Abandoned == 0)
        {
            HostingLog.Stopped(_logger, summary.Accepted, summary.Completed, summary.Faulted, summary.Cancelled, summary.Abandoned);
        }
        else
        {
            HostingLog.StoppedWithLoss(_logger, summary.Accepted, summary.Completed, summary.Faulted, summary.Cancelled, summary.Abandoned);
        }

        _accessor.OnStopped(summary);
    }
}
