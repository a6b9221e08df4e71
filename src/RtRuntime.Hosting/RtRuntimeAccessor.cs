using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace RtRuntime.Hosting;

/// <summary>
/// The hosted runtime's handle, a singleton registered by <c>AddRtRuntime()</c>. The
/// <see cref="RtScheduler"/> only exists once the host has started (its CPUs are pinned in the hosted
/// service's <c>StartAsync</c>), so code constructed before that (singletons, hosted services)
/// injects this accessor and reads <see cref="Runtime"/> later; code resolved after start (request
/// handlers, scoped services) may inject <see cref="RtScheduler"/> directly.
/// </summary>
public sealed class RtRuntimeAccessor
{
    private readonly TaskCompletionSource<ShutdownSummary> _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private RtScheduler? _runtime;
    private Exception? _workerFault;
    private int _state;

    internal RtRuntimeAccessor()
    {
    }

    /// <summary>Where the runtime is in its life.</summary>
    public RtRuntimeState State => (RtRuntimeState)Volatile.Read(ref _state);

    /// <summary>The running (or stopping, or stopped) runtime.</summary>
    /// <exception cref="InvalidOperationException">The host has not started the runtime, or the runtime itself failed to start (a pinning failure). After a start that failed later (a worker could not be spawned) this is the runtime that start stopped.</exception>
    public RtScheduler Runtime
    {
        get
        {
            if (TryGetRuntime(out RtScheduler? runtime))
            {
                return runtime;
            }

            throw new InvalidOperationException(
                $"The RtRuntime is {State}: it exists only once the host has started (the CPUs are pinned in the hosted service's StartAsync). "
                + "Resolve RtScheduler after IHost.StartAsync (e.g. in a request handler), or inject RtRuntimeAccessor and read Runtime later.");
        }
    }

    /// <summary>
    /// Completes with the shutdown summary when the runtime has stopped (every accepted task accounted
    /// for, or counted as abandoned); faults with the start exception if the runtime failed to start.
    /// </summary>
    public Task<ShutdownSummary> Stopped => _stopped.Task;

    /// <summary>
    /// The exception of the first RT worker that faulted (an exception escaped its <c>ExecuteAsync</c>; an
    /// <see cref="OperationCanceledException"/> only when no stop had begun), or null when none did. With the
    /// host's default <c>HostOptions.BackgroundServiceExceptionBehavior</c>, <c>StopHost</c>, that fault stopped
    /// the host; <c>IHost.RunAsync</c> still returns normally then (as .NET 10 does for a faulted
    /// <c>BackgroundService</c>), so the process would exit 0. An application that must exit non-zero after a
    /// worker fault (a container, a systemd unit with <c>Restart=on-failure</c>) checks this after
    /// <c>RunAsync</c>: <c>return accessor.WorkerFault is null ? 0 : 1;</c> (with the accessor resolved before
    /// <c>RunAsync</c>, which disposes the host and its services).
    /// </summary>
    /// <remarks>
    /// Set (and logged, event 105) before the fault stops the host, so it is there when <c>RunAsync</c> returns;
    /// a worker that faults while the host stops (a failing flush) sets it before the host's <c>StopAsync</c>
    /// returns, unless the host's shutdown timeout cut that stop short. Faults after the first keep the first.
    /// With <c>BackgroundServiceExceptionBehavior.Ignore</c> it is set all the same (the host runs on).
    /// </remarks>
    public Exception? WorkerFault => Volatile.Read(ref _workerFault);

    /// <summary>When the runtime started (a <see cref="Stopwatch"/> timestamp), for rates since start.</summary>
    internal long StartTimestamp { get; private set; }

    /// <summary>Gets the runtime if the host has started it.</summary>
    /// <param name="runtime">The runtime, or null.</param>
    /// <returns>True when the runtime exists (running, stopping or stopped).</returns>
    public bool TryGetRuntime([NotNullWhen(true)] out RtScheduler? runtime)
    {
        runtime = Volatile.Read(ref _runtime);
        return runtime is not null;
    }

    internal void OnStarted(RtScheduler runtime)
    {
        StartTimestamp = Stopwatch.GetTimestamp();
        Volatile.Write(ref _runtime, runtime);
        Volatile.Write(ref _state, (int)RtRuntimeState.Running);
    }

    internal void OnStartFailed(Exception exception)
    {
        Volatile.Write(ref _state, (int)RtRuntimeState.Failed);
        _stopped.TrySetException(exception);

        // Nobody may await Stopped after a failed start; the exception is already logged and thrown
        // from StartAsync, so mark it observed rather than leave it to UnobservedTaskException.
        _ = _stopped.Task.Exception;
    }

    internal void OnWorkerFaulted(Exception exception) => Interlocked.CompareExchange(ref _workerFault, exception, null);

    internal void OnStopFailed(Exception exception)
    {
        Volatile.Write(ref _state, (int)RtRuntimeState.Stopped);
        _stopped.TrySetException(exception);
    }

    /// <summary>Running → Stopping, for exactly one caller: the host's stop and a dispose can race, and only one of them may stop the runtime and publish its summary.</summary>
    internal bool TryBeginStop() =>
        Interlocked.CompareExchange(ref _state, (int)RtRuntimeState.Stopping, (int)RtRuntimeState.Running) == (int)RtRuntimeState.Running;

    internal void OnStopped(ShutdownSummary summary)
    {
        Volatile.Write(ref _state, (int)RtRuntimeState.Stopped);
        _stopped.TrySetResult(summary);
    }
}
