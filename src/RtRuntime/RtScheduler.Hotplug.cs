using RtRuntime.Cpus;
using RtRuntime.Diagnostics;
using RtRuntime.Hotplug;
using RtRuntime.Scheduling;
using RtRuntime.Tasks;

namespace RtRuntime;

/// <summary>
/// CPU hotplug (kernel/cpu.c, sched_cpu_deactivate / balance_push / sched_cpu_wait_empty): take a CPU
/// offline once its pinned tasks have left, and bring it back.
/// </summary>
public sealed partial class RtScheduler
{
    private readonly SemaphoreSlim _hotplugMutex = new(1, 1);
    private readonly List<HotplugRegistration> _hotplugCallbacks = []; // by registration: equal callback records stay distinct
    private readonly CancellationTokenSource _hotplugStop = new(); // cancelled when a stop begins: ends a hotplug operation's waits
    private long _hotplugOps;

    /// <summary>Hotplug operations completed (offline and online).</summary>
    public long HotplugOperations => Interlocked.Read(ref _hotplugOps);

    /// <summary>True while CPU <paramref name="cpu"/> is online.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such CPU.</exception>
    public bool IsOnline(int cpu) => CpuAt(cpu).Online;

    /// <summary>True while CPU <paramref name="cpu"/> accepts new placements (cpu_active).</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such CPU.</exception>
    public bool IsActive(int cpu) => CpuAt(cpu).Active;

    /// <summary>The CPUs online now.</summary>
    public CpuSet OnlineCpus => CpuSet.Of(_cpus.Where(c => c.Online).Select(c => c.Id).ToArray());

    /// <summary>
    /// Registers hotplug steps; returns a handle that unregisters them. Accepted during and after a stop,
    /// unlike the hotplug operations: no CPU changes state once a stop has begun (those are refused), so
    /// such steps never run, which is all they could ask for, and a component that registers steps as
    /// it is built (a <see cref="PerCpu.PerCpuPool{T}"/>) is not failed by a stop it cannot see coming.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="callback"/> is null.</exception>
    /// <exception cref="ArgumentException">Its <see cref="HotplugCallback.Name"/> is null, empty or white space (it names the step in errors), or a step is an async method or lambda (async void: it would not run to its end on the CPU's thread).</exception>
    public IDisposable RegisterHotplug(HotplugCallback callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        if (string.IsNullOrWhiteSpace(callback.Name))
        {
            string shown = callback.Name is null ? "null" : $"\"{callback.Name}\"";
            throw new ArgumentException($"callback.Name is {shown}; a hotplug step needs a name that is not empty or white space (it names the step in the errors its callbacks raise).", nameof(callback));
        }

        (string Which, string Method)? asyncStep = AsyncMethodOf(callback.Online) is { } up ? (nameof(HotplugCallback.Online), up)
            : AsyncMethodOf(callback.Offline) is { } down ? (nameof(HotplugCallback.Offline), down)
            : null;
        if (asyncStep is { } a)
        {
            throw new ArgumentException(
                $"callback.{a.Which} of hotplug step '{callback.Name}' is an async method or lambda ({a.Method}), which as an Action<int> is async void: it would return at its first await and the rest would run off the CPU's thread after the operation went on; a step must be synchronous (start or signal a task for async work).",
                nameof(callback));
        }

        var registration = new HotplugRegistration(this, callback);
        lock (_hotplugCallbacks)
        {
            _hotplugCallbacks.Add(registration);
        }

        return registration;
    }

    /// <summary>
    /// An async lambda or method given as a step is async void: it returns at its first await, the
    /// operation goes on without the rest (the CPU goes offline, or takes tasks), which later runs on
    /// the ThreadPool, off the CPU's thread, and a throw there crashes the process. Refused: returns the
    /// name of such a method in <paramref name="step"/>, or null.
    /// </summary>
    private static string? AsyncMethodOf(Action<int>? step)
    {
        foreach (Delegate target in step?.GetInvocationList() ?? [])
        {
            if (target.Method.IsDefined(typeof(System.Runtime.CompilerServices.AsyncStateMachineAttribute), inherit: false))
            {
                return target.Method.Name;
            }
        }

        return null;
    }

    /// <summary>
    /// Takes CPU <paramref name="cpu"/> offline. It becomes inactive at once (no new placements; wakeups go
    /// elsewhere); its migratable tasks leave at their next preemption point or from its queue; then the
    /// operation waits while its <c>nr_pinned</c> &gt; 0 (a pinned task woken here may still run here
    /// until it unpins). Once vacated, the offline callbacks run on the dying CPU in reverse order, its
    /// timers move to an online CPU, and it goes offline. Cancelling the wait brings the CPU back active
    /// and loses nothing.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">No such CPU.</exception>
    /// <exception cref="InvalidOperationException">The CPU is offline already, it is the last online CPU, or the runtime is stopping.</exception>
    /// <exception cref="OperationCanceledException">Cancelled (its <see cref="OperationCanceledException.CancellationToken"/> is <paramref name="cancellationToken"/>) while waiting for pinned tasks, or for another hotplug call to end; the CPU is active again.</exception>
    /// <exception cref="AggregateException">One or more offline steps threw (each wrapped in an <see cref="InvalidOperationException"/> naming the step); the other steps ran and the CPU is offline.</exception>
    public async Task OfflineAsync(int cpu, CancellationToken cancellationToken = default)
    {
        Cpu dying = CpuAt(cpu);
        using CancellationTokenSource stopOrCancel = await EnterHotplugAsync(cpu, "go offline", cancellationToken).ConfigureAwait(false);
        try
        {
            if (!dying.Online)
            {
                throw new InvalidOperationException($"cpu{cpu} is already offline.");
            }

            if (_cpus.Count(c => c.Online) == 1)
            {
                throw new InvalidOperationException($"cpu{cpu} is the last online CPU; at least one CPU must stay online.");
            }

            // sched_cpu_deactivate: inactive at once, and balance_push from now on.
            TaskCompletionSource vacated = dying.BeginDying();
            Trace(cpu, "deactivate");
            Rebalancer.Notify(BalanceReason.Hotplug);
            try
            {
                await vacated.Task.WaitAsync(stopOrCancel.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                dying.AbortDying(); // cancelled, or the runtime began to stop: the CPU is active again
                ThrowIfStopping(cpu, "go offline");
                cancellationToken.ThrowIfCancellationRequested(); // the caller's token, not the linked one
                throw;
            }

            Trace(cpu, "vacated");
            List<Exception> errors;
            try
            {
                errors = await dying.RunOnCpuAsync(() => RunCallbacks(cpu, online: false)).ConfigureAwait(false);
            }
            catch (InvalidOperationException)
            {
                // The runtime stopped between the vacate and this continuation, and the CPU's thread
                // exited before it could run the callbacks: end as a stop during the wait ends, with
                // the CPU active again (its state consistent, nothing lost; the callbacks did not run).
                dying.AbortDying();
                throw;
            }

            dying.FinishOffline(this);
            Trace(cpu, "offline");
            Interlocked.Increment(ref _hotplugOps);
            if (errors.Count > 0)
            {
                throw new AggregateException($"cpu{cpu} went offline, but {errors.Count} offline callback(s) threw.", errors);
            }
        }
        finally
        {
            _hotplugMutex.Release();
        }
    }

    /// <summary>Brings CPU <paramref name="cpu"/> online: online callbacks run on it in registration order, then it accepts tasks at once.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such CPU.</exception>
    /// <exception cref="InvalidOperationException">The CPU is online already, or the runtime is stopping.</exception>
    /// <exception cref="OperationCanceledException">Cancelled (its <see cref="OperationCanceledException.CancellationToken"/> is <paramref name="cancellationToken"/>) while waiting for another hotplug call to end; nothing changed.</exception>
    /// <exception cref="AggregateException">One or more online steps threw (each wrapped in an <see cref="InvalidOperationException"/> naming the step); the other steps ran and the CPU is online and active.</exception>
    public async Task OnlineAsync(int cpu, CancellationToken cancellationToken = default)
    {
        Cpu c = CpuAt(cpu);
        using CancellationTokenSource stopOrCancel = await EnterHotplugAsync(cpu, "come online", cancellationToken).ConfigureAwait(false);
        try
        {
            if (c.Online)
            {
                throw new InvalidOperationException($"cpu{cpu} is already online.");
            }

            c.Online = true;
            List<Exception> errors;
            try
            {
                errors = await c.RunOnCpuAsync(() => RunCallbacks(cpu, online: true)).ConfigureAwait(false);
            }
            catch (InvalidOperationException)
            {
                // The CPU's thread exited (the runtime stopped) before it could run the online steps: the
                // CPU stays offline, as it was, instead of online and never active with its steps not run.
                c.Online = false;
                throw;
            }

            c.Active = true;
            Trace(cpu, "online");
            Interlocked.Increment(ref _hotplugOps);
            Rebalancer.Notify(BalanceReason.Hotplug);
            if (errors.Count > 0)
            {
                throw new AggregateException($"cpu{cpu} came online, but {errors.Count} online callback(s) threw.", errors);
            }
        }
        finally
        {
            _hotplugMutex.Release();
        }
    }

    /// <summary>
    /// Takes the hotplug mutex for one operation; returns a token that fires on the caller's cancellation
    /// or when the runtime begins to stop (dispose it). Refused once a stop has begun, including while
    /// waiting for the mutex behind an operation the stop ends.
    /// </summary>
    private async Task<CancellationTokenSource> EnterHotplugAsync(int cpu, string what, CancellationToken cancellationToken)
    {
        ThrowIfStopping(cpu, what);
        CancellationTokenSource stopOrCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _hotplugStop.Token);
        try
        {
            await _hotplugMutex.WaitAsync(stopOrCancel.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            stopOrCancel.Dispose();
            ThrowIfStopping(cpu, what);
            cancellationToken.ThrowIfCancellationRequested(); // the caller's token, not the linked one
            throw;
        }

        try
        {
            ThrowIfStopping(cpu, what);
        }
        catch
        {
            _hotplugMutex.Release();
            stopOrCancel.Dispose();
            throw;
        }

        return stopOrCancel;
    }

    /// <summary>Hotplug needs the CPU threads, which exit when the runtime stops: refused from the start of a stop.</summary>
    private void ThrowIfStopping(int cpu, string what)
    {
        if (Volatile.Read(ref _stopTask) is not null || _hotplugStop.IsCancellationRequested)
        {
            throw new InvalidOperationException($"cpu{cpu} cannot {what}: the runtime {StopStateText}.");
        }
    }

    private List<Exception> RunCallbacks(int cpu, bool online)
    {
        HotplugRegistration[] registrations;
        lock (_hotplugCallbacks)
        {
            registrations = _hotplugCallbacks.ToArray();
        }

        if (!online)
        {
            Array.Reverse(registrations);
        }

        var errors = new List<Exception>();
        foreach (HotplugRegistration registration in registrations)
        {
            HotplugCallback step = registration.Callback;
            try
            {
                // A registration disposed since the snapshot (by an earlier step, or by another thread)
                // is skipped; one disposed while its step runs waits for the step (TryInvoke).
                _ = registration.TryInvoke(online ? step.Online : step.Offline, cpu);
            }
            catch (Exception e)
            {
                // Logged as well as thrown to the caller: a hotplug call nobody awaits (fire and forget,
                // a hosted service's) still reports it, as the kernel WARNs on a failing teardown step.
                string direction = online ? "online" : "offline";
                RtLog.HotplugStepFailed(_logger, step.Name, cpu, direction, e);
                errors.Add(new InvalidOperationException($"Hotplug step '{step.Name}' failed taking cpu{cpu} {direction}: {e.Message}", e));
            }
        }

        return errors;
    }

    private static void Trace(int cpu, string step)
    {
        if (RtEventSource.Log.On)
        {
            RtEventSource.Log.Hotplug(cpu, step);
        }
    }

    /// <summary>"Dying CPU not properly vacated!": a task or pin left on a CPU at its final offline step.</summary>
    internal void ReportNotVacated(Cpu cpu, IReadOnlyList<RtTask> left)
    {
        string dump = string.Join(", ", left.Select(t => $"{t.Name}/{t.Id} prio {t.EffectivePriority}"));
        RtLog.NotVacated(_logger, cpu.Id, cpu.NrPinned, dump);
    }

    /// <summary>
    /// One registration (compared by reference): disposing it removes it, once, and never another one.
    /// Once Dispose has returned its step does not run, nor is it running (cpuhp_remove_state()): a
    /// Dispose from another thread while the step runs waits for it; one from the step itself, or from
    /// an earlier step of the same operation, returns at once and the step is skipped.
    /// </summary>
    private sealed class HotplugRegistration(RtScheduler scheduler, HotplugCallback callback) : IDisposable
    {
        private readonly Lock _invoke = new(); // held while the step runs; reentrant for a Dispose from the step
        private volatile bool _disposed;

        public HotplugCallback Callback => callback;

        /// <summary>Runs <paramref name="step"/> unless this registration was disposed; false when skipped.</summary>
        public bool TryInvoke(Action<int>? step, int cpu)
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

            lock (scheduler._hotplugCallbacks)
            {
                scheduler._hotplugCallbacks.Remove(this);
            }
        }
    }
}
