using RtRuntime.Tasks;

namespace RtRuntime.Hosting;

/// <summary>
/// A long-running hosted worker that runs as a runtime task: the RT counterpart of
/// <c>BackgroundService</c>. Register it with <c>services.AddRtWorker&lt;T&gt;()</c>; the hosted runtime
/// spawns it once the CPUs are pinned, with the priority, policy and affinity of its
/// <see cref="RtWorkerOptions"/> (configuration section <c>RtRuntime:Workers:&lt;Name&gt;</c>).
/// </summary>
/// <remarks>
/// <para>
/// Stopping: when the host stops, <c>stoppingToken</c> is cancelled first (a request: finish up and
/// return). The runtime then drains for the host's shutdown timeout minus the cancel grace; a worker
/// still running after that is cancelled as a task: its next preemption point or blocking wait throws
/// <see cref="OperationCanceledException"/>.
/// </para>
/// <para>
/// Faults: an exception escaping <see cref="ExecuteAsync"/> faults the task and is logged; with the
/// host's default <c>HostOptions.BackgroundServiceExceptionBehavior</c> (<c>StopHost</c>) it also stops
/// the host, exactly as a faulting <c>BackgroundService</c> does; with <c>Ignore</c> the host goes on.
/// </para>
/// </remarks>
public abstract class RtWorker
{
    private RtTask? _task;

    /// <summary>The worker's name: its task's name and its configuration key. Set when the hosted runtime spawns the worker at host start (the registration only records it): empty before, e.g. in a constructor.</summary>
    public string Name { get; internal set; } = string.Empty;

    /// <summary>The running task, once the runtime spawned it (null before host start).</summary>
    public RtTask? Task => Volatile.Read(ref _task);

    /// <summary>
    /// The worker's body, run on a runtime CPU as a task. Pass preemption points
    /// (<c>await context.PreemptionPoint()</c>) in long loops and return when
    /// <paramref name="stoppingToken"/> is cancelled.
    /// </summary>
    /// <param name="context">The task's context (the kernel's <c>current</c>).</param>
    /// <param name="stoppingToken">Cancelled when the host begins to stop.</param>
    /// <returns>A value task that completes when the worker is done.</returns>
    protected abstract ValueTask ExecuteAsync(TaskContext context, CancellationToken stoppingToken);

    internal ValueTask RunAsync(TaskContext context, CancellationToken stoppingToken) => ExecuteAsync(context, stoppingToken);

    internal void SetTask(RtTask task) => Volatile.Write(ref _task, task);
}
