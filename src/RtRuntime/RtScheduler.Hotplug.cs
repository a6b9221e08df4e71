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
    /// <exception cref="AggregateException">One or more offline steps threw (each wrapped in an <see cref="InvalidOperationException"/> naming the step); the other steps ran and the CPU is offline (a teardown cannot fail: the kernel only WARNs).</exception>
    public async Task OfflineAsync(int cpu, CancellationToken cancellationToken = default)
    {
        Cpu dying = CpuAt(cpu);
        using CancellationTokenSource stopOrCancel = await EnterHotplugAsync($"cpu{cpu}", "go offline", cancellationToken).ConfigureAwait(false);
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
                ThrowIfStopping($"cpu{cpu}", "go offline");
                cancellationToken.ThrowIfCancellationRequested(); // the caller's token, not the linked one
                throw;
            }

            Trace(cpu, "vacated");
            List<Exception> errors;
            try
            {
                errors = await dying.RunOnCpuAsync(() => RunOfflineSteps(cpu)).ConfigureAwait(false);
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

    /// <summary>
    /// Brings CPU <paramref name="cpu"/> online: the online steps run on it in registration order, then it
    /// accepts tasks at once. A step that throws stops the online as the kernel's <c>cpuhp_up_callbacks</c>
    /// does (<c>cpuhp_reset_state</c>): the steps that ran before it get their offline step, in reverse
    /// order, on the CPU's thread; the CPU stays offline (it was never active) and the error is thrown.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">No such CPU.</exception>
    /// <exception cref="InvalidOperationException">The CPU is online already, or the runtime is stopping; or an online step threw (the message names the step, the exception it threw is the inner one): the CPU is offline, as it was.</exception>
    /// <exception cref="OperationCanceledException">Cancelled (its <see cref="OperationCanceledException.CancellationToken"/> is <paramref name="cancellationToken"/>) while waiting for another hotplug call to end; nothing changed.</exception>
    public async Task OnlineAsync(int cpu, CancellationToken cancellationToken = default)
    {
        Cpu c = CpuAt(cpu);
        using CancellationTokenSource stopOrCancel = await EnterHotplugAsync($"cpu{cpu}", "come online", cancellationToken).ConfigureAwait(false);
        try
        {
            if (c.Online)
            {
                throw new InvalidOperationException($"cpu{cpu} is already online.");
            }

            c.Online = true;
            Exception? failed;
            try
            {
                failed = await c.RunOnCpuAsync(() => RunOnlineSteps(cpu)).ConfigureAwait(false);
            }
            catch (InvalidOperationException)
            {
                // The CPU's thread exited (the runtime stopped) before it could run the online steps: the
                // CPU stays offline, as it was, instead of online and never active with its steps not run.
                c.Online = false;
                throw;
            }

            if (failed is not null)
            {
                c.Online = false; // never active: nothing was placed on it, nothing to move
                Trace(cpu, "online failed");
                throw failed;
            }

            c.Active = true;
            Trace(cpu, "online");
            Interlocked.Increment(ref _hotplugOps);
            Rebalancer.Notify(BalanceReason.Hotplug);
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
    private async Task<CancellationTokenSource> EnterHotplugAsync(string subject, string what, CancellationToken cancellationToken)
    {
        ThrowIfStopping(subject, what);
        CancellationTokenSource stopOrCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _hotplugStop.Token);
        try
        {
            await _hotplugMutex.WaitAsync(stopOrCancel.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            stopOrCancel.Dispose();
            ThrowIfStopping(subject, what);
            cancellationToken.ThrowIfCancellationRequested(); // the caller's token, not the linked one
            throw;
        }

        try
        {
            ThrowIfStopping(subject, what);
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
    private void ThrowIfStopping(string subject, string what)
    {
        if (HotplugStopping)
        {
            throw new InvalidOperationException($"{subject} cannot {what}: the runtime {StopStateText}.");
        }
    }

    private bool HotplugStopping => Volatile.Read(ref _stopTask) is not null || _hotplugStop.IsCancellationRequested;

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
}
