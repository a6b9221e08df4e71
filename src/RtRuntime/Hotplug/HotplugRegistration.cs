namespace RtRuntime.Hotplug;

/// <summary>
/// A registered hotplug step (a cpuhp state), compared by reference: equal callback records registered
/// twice are two registrations. Two ways to remove it, as the kernel has two:
/// <list type="bullet">
/// <item><see cref="Dispose"/> (<c>cpuhp_remove_state_nocalls()</c>): removes it and runs no step. Once
/// it has returned the step does not run, nor is it running: a Dispose from another thread while the
/// step runs waits for it; one from the step itself, or from an earlier step of the same operation,
/// returns at once and the step is skipped.</item>
/// <item><see cref="UnregisterAsync"/> and <see cref="DisposeAsync"/> (<c>cpuhp_remove_state()</c>):
/// runs its <see cref="HotplugCallback.Offline"/> step on each online CPU, on that CPU's thread, in CPU
/// order, under the hotplug lock (no CPU changes state meanwhile), then removes it.</item>
/// </list>
/// </summary>
public sealed class HotplugRegistration : IDisposable, IAsyncDisposable
{
    private readonly RtScheduler _scheduler;
    private readonly Lock _invoke = new(); // held while the step runs; reentrant for a Dispose from the step
    private volatile bool _disposed;

    internal HotplugRegistration(RtScheduler scheduler, HotplugCallback callback)
    {
        _scheduler = scheduler;
        Callback = callback;
    }

    /// <summary>The steps registered.</summary>
    public HotplugCallback Callback { get; }

    /// <summary>True once removed (by either way).</summary>
    public bool IsDisposed => _disposed;

    /// <summary>
    /// Removes the registration without running its offline step on the online CPUs
    /// (<c>cpuhp_remove_state_nocalls()</c>). Idempotent; never removes another registration.
    /// </summary>
    public void Dispose()
    {
        using (_invoke.EnterScope())
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        _scheduler.RemoveHotplugRegistration(this);
    }

    /// <summary>
    /// Runs the <see cref="HotplugCallback.Offline"/> step on each online CPU, on that CPU's thread (between
    /// its tasks, as when it goes offline, but with the CPU online: tasks preempted there may be midway
    /// through the state the step tears down), in CPU order, then removes the registration
    /// (<c>cpuhp_remove_state()</c>). It waits for a hotplug operation in progress, and CPUs change no state
    /// while it runs. A step that throws does not stop the others: each failure is logged (EventId 24), the
    /// registration is removed all the same, and an <see cref="AggregateException"/> of them is thrown. Once
    /// the runtime has begun to stop no step runs any more (nothing runs the CPUs' offline steps at a stop):
    /// the registration is removed as by <see cref="Dispose"/>; a removal under way when the stop begins runs
    /// no step on the CPUs it has not reached yet, and throws nothing for them. Removed already: returns at once.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait for a hotplug operation in progress; then nothing ran and the registration stays.</param>
    /// <exception cref="OperationCanceledException">Cancelled while waiting for a hotplug operation (its token is <paramref name="cancellationToken"/>); the registration stays.</exception>
    /// <exception cref="AggregateException">The offline step threw on one or more CPUs (each wrapped in an <see cref="InvalidOperationException"/> naming the step and CPU); it ran on the others and the registration is removed.</exception>
    public Task UnregisterAsync(CancellationToken cancellationToken = default) => _scheduler.UnregisterHotplugAsync(this, cancellationToken);

    /// <summary><see cref="UnregisterAsync"/> with no cancellation: <c>await using</c> removes the registration with its offline calls.</summary>
    /// <returns>A task that completes once the registration is removed.</returns>
    public ValueTask DisposeAsync() => new(UnregisterAsync());

    /// <summary>Runs <paramref name="step"/> unless this registration was disposed; false when skipped.</summary>
    internal bool TryInvoke(Action<int>? step, int cpu)
    {
        using (_invoke.EnterScope())
        {
            if (_disposed)
            {
                return false;
            }

            step?.Invoke(cpu);
            return true;
        }
    }
}
