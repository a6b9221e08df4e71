using RtRuntime.Cpus;
using RtRuntime.Diagnostics;
using RtRuntime.Hotplug;

namespace RtRuntime;

/// <summary>
/// Hotplug steps as the kernel's cpuhp states (kernel/cpu.c): registering one with its online step run on
/// the CPUs already up (<c>cpuhp_setup_state</c>) or without (<c>cpuhp_setup_state_nocalls</c>), removing
/// one likewise (<c>cpuhp_remove_state</c>, <c>_nocalls</c>), and running them in an operation.
/// </summary>
public sealed partial class RtScheduler
{
    private const string OfflineStepOutcome = "the other steps ran, the CPU went offline, and the operation throws it to its caller";
    private const string RollbackStepOutcome = "the rollback goes on (a teardown cannot fail: the kernel only WARNs)";

    private readonly List<HotplugRegistration> _hotplugCallbacks = []; // by registration: equal callback records stay distinct

    /// <summary>
    /// Registers hotplug steps and runs their <see cref="HotplugCallback.Online"/> step on each CPU online
    /// now, on that CPU's thread (between its tasks), in CPU order (<c>cpuhp_setup_state()</c>): a subsystem
    /// registering after the runtime started sets itself up on the CPUs that are up, as it will on each CPU
    /// that comes online later. It takes the hotplug lock: it waits for an operation in progress, and no CPU
    /// changes state while it runs, so each CPU gets the step exactly once, either here or as it comes
    /// online. If the step throws on a CPU, the CPUs it had set up get its <see cref="HotplugCallback.Offline"/>
    /// step, in CPU order (<c>cpuhp_rollback_install()</c>), nothing is registered, and the error is thrown.
    /// With no online step nothing runs (as the kernel skips a state with no startup callback).
    /// </summary>
    /// <param name="callback">The steps.</param>
    /// <param name="cancellationToken">Cancels the wait for a hotplug operation in progress; then nothing ran or was registered.</param>
    /// <returns>The registration; <see cref="HotplugRegistration.Dispose"/> or <see cref="HotplugRegistration.UnregisterAsync"/> removes it.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="callback"/> is null.</exception>
    /// <exception cref="ArgumentException">As <see cref="RegisterHotplugNoCalls"/>.</exception>
    /// <exception cref="InvalidOperationException">The online step threw on a CPU (the message names the step and the CPU; the exception it threw is the inner one), or the runtime is stopping (use <see cref="RegisterHotplugNoCalls"/> then: no CPU changes state any more); nothing is registered.</exception>
    /// <exception cref="OperationCanceledException">Cancelled while waiting for a hotplug operation (its token is <paramref name="cancellationToken"/>); nothing is registered.</exception>
    public async Task<HotplugRegistration> RegisterHotplugAsync(HotplugCallback callback, CancellationToken cancellationToken = default)
    {
        ValidateHotplugStep(callback);
        var registration = new HotplugRegistration(this, callback);
        using CancellationTokenSource stopOrCancel = await EnterHotplugAsync($"hotplug step '{callback.Name}'", "run its online step on the online CPUs", cancellationToken).ConfigureAwait(false);
        try
        {
            if (callback.Online is not null)
            {
                await InstallAsync(registration).ConfigureAwait(false);
            }

            lock (_hotplugCallbacks)
            {
                _hotplugCallbacks.Add(registration); // under the hotplug lock: the next operation has it
            }

            return registration;
        }
        finally
        {
            _hotplugMutex.Release();
        }
    }

    /// <summary>
    /// Registers hotplug steps without running any now (<c>cpuhp_setup_state_nocalls()</c>): the online step
    /// runs on the CPUs that come online from now on, not on those online already. For a component that
    /// needs no online step, or sets its CPUs up itself; it neither waits nor blocks (a constructor may call
    /// it, a <see cref="PerCpu.PerCpuPool{T}"/>'s does), so it does not take the hotplug lock: a registration
    /// racing an operation may or may not be in that operation's steps. Accepted during and after a stop,
    /// unlike <see cref="RegisterHotplugAsync"/>: no CPU changes state once a stop has begun, so such steps
    /// never run, which is all they could ask for, and a component that registers steps as it is built is
    /// not failed by a stop it cannot see coming.
    /// </summary>
    /// <param name="callback">The steps.</param>
    /// <returns>The registration; <see cref="HotplugRegistration.Dispose"/> or <see cref="HotplugRegistration.UnregisterAsync"/> removes it.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="callback"/> is null.</exception>
    /// <exception cref="ArgumentException">Its <see cref="HotplugCallback.Name"/> is null, empty or white space (it names the step in errors), or a step is an async method or lambda (async void: it would not run to its end on the CPU's thread).</exception>
    public HotplugRegistration RegisterHotplugNoCalls(HotplugCallback callback)
    {
        ValidateHotplugStep(callback);
        var registration = new HotplugRegistration(this, callback);
        lock (_hotplugCallbacks)
        {
            _hotplugCallbacks.Add(registration);
        }

        return registration;
    }

    /// <summary>Removes a registration (its Dispose, once): never another one, equal or not.</summary>
    internal void RemoveHotplugRegistration(HotplugRegistration registration)
    {
        lock (_hotplugCallbacks)
        {
            _hotplugCallbacks.Remove(registration);
        }
    }

    /// <summary><c>cpuhp_remove_state()</c>: see <see cref="HotplugRegistration.UnregisterAsync"/>.</summary>
    internal async Task UnregisterHotplugAsync(HotplugRegistration registration, CancellationToken cancellationToken)
    {
        if (registration.IsDisposed)
        {
            return;
        }

        HotplugCallback step = registration.Callback;
        CancellationTokenSource stopOrCancel;
        try
        {
            stopOrCancel = await EnterHotplugAsync($"hotplug step '{step.Name}'", "run its offline step on the online CPUs", cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidOperationException) when (HotplugStopping)
        {
            registration.Dispose(); // no step runs from a stop on (nor at it): removed without calls
            return;
        }

        using (stopOrCancel)
        {
            var errors = new List<Exception>();
            try
            {
                if (step.Offline is not null)
                {
                    foreach (Cpu cpu in _cpus.Where(c => c.Online))
                    {
                        if (HotplugStopping)
                        {
                            break; // no step runs from a stop on: the CPUs not reached yet get none, as at a removal after it
                        }

                        // A CPU whose thread exited meanwhile (the stop began after the look above) ran no step:
                        // not a failure of the step, nothing thrown for it.
                        if (await RunStepOnCpuAsync(registration, online: false, cpu, "at its removal", "it ran on the other CPUs and is removed; the removal throws it to its caller").ConfigureAwait(false) is ({ } failed, true))
                        {
                            errors.Add(failed);
                        }
                    }
                }

                registration.Dispose();
            }
            finally
            {
                _hotplugMutex.Release();
            }

            if (errors.Count > 0)
            {
                throw new AggregateException($"Hotplug step '{step.Name}' is removed, but its offline step threw on {errors.Count} CPU(s).", errors);
            }
        }
    }

    /// <summary>
    /// The calls of <c>cpuhp_setup_state()</c>, under the hotplug lock: the online step on each online CPU in
    /// CPU order; on a failure, <c>cpuhp_rollback_install()</c> (the offline step on the CPUs set up, in CPU
    /// order) and the error thrown.
    /// </summary>
    private async Task InstallAsync(HotplugRegistration registration)
    {
        HotplugCallback step = registration.Callback;
        var done = new List<Cpu>();
        foreach (Cpu cpu in _cpus.Where(c => c.Online))
        {
            if (await RunStepOnCpuAsync(registration, online: true, cpu, "at its registration", "it is rolled back on the CPUs it had set up and not registered; the registration throws it to its caller").ConfigureAwait(false) is not ({ } failed, _))
            {
                done.Add(cpu);
                continue;
            }

            var rolledBack = new List<string>();
            if (step.Offline is not null)
            {
                foreach (Cpu up in done)
                {
                    if ((await RunStepOnCpuAsync(registration, online: false, up, "rolling back its registration", RollbackStepOutcome).ConfigureAwait(false)).Ran)
                    {
                        rolledBack.Add($"cpu{up.Id}");
                    }
                }
            }

            string rollback = rolledBack.Count > 0 ? $"its offline step ran on {string.Join(", ", rolledBack)}, where its online step had run"
                : done.Count > 0 ? "it has no offline step to undo its online step on the CPUs before"
                : "its online step had run on no CPU before";
            throw new InvalidOperationException($"{failed.Message}; it is not registered, and {rollback}.", failed.InnerException ?? failed);
        }
    }

    /// <summary>
    /// Runs one step of <paramref name="registration"/> on <paramref name="cpu"/>'s thread; returns its error
    /// (named and logged), or null, and whether it ran. A CPU whose thread has exited (the runtime stopped)
    /// runs nothing more: an error saying so, and not run.
    /// </summary>
    private async Task<(Exception? Error, bool Ran)> RunStepOnCpuAsync(HotplugRegistration registration, bool online, Cpu cpu, string when, string outcome)
    {
        try
        {
            return await cpu.RunOnCpuAsync(() => (RunStep(registration, online, cpu.Id, $"on cpu{cpu.Id} {when}", outcome, out bool ran), ran)).ConfigureAwait(false);
        }
        catch (InvalidOperationException e)
        {
            return (new InvalidOperationException($"Hotplug step '{registration.Callback.Name}' did not run on cpu{cpu.Id} {when}: the runtime {StopStateText} ({e.Message})", e), false);
        }
    }

    /// <summary>
    /// <c>cpuhp_up_callbacks</c>, on the CPU's thread: the online steps in registration order. At the first
    /// that throws, <c>cpuhp_reset_state</c> and the way back down: the steps that ran before it get their
    /// offline step in reverse order (not the failed one: it did not complete). Returns the error, or null.
    /// </summary>
    private InvalidOperationException? RunOnlineSteps(int cpu)
    {
        HotplugRegistration[] registrations = HotplugSteps();
        var ran = new List<HotplugRegistration>(registrations.Length);
        foreach (HotplugRegistration registration in registrations)
        {
            // A registration disposed since the snapshot (by an earlier step, or by another thread) is
            // skipped; one disposed while its step runs waits for the step (TryInvoke).
            Exception? failed = RunStep(registration, online: true, cpu, $"taking cpu{cpu} online", "the steps that ran before it are rolled back, the CPU stays offline, and the operation throws it to its caller", out bool invoked);
            if (failed is null)
            {
                if (invoked)
                {
                    ran.Add(registration);
                }

                continue;
            }

            ran.Reverse();
            foreach (HotplugRegistration back in ran)
            {
                _ = RunStep(back, online: false, cpu, $"on cpu{cpu} rolling back its failed online", RollbackStepOutcome, out _);
            }

            string rollback = ran.Count > 0 ? $"the steps that had run on it ran their offline step, in reverse order ({string.Join(", ", ran.Select(r => r.Callback.Name))})"
                : "no step had run on it before";
            return new InvalidOperationException($"{failed.Message}; cpu{cpu} stays offline, and {rollback}.", failed.InnerException ?? failed);
        }

        return null;
    }

    /// <summary>The offline steps, on the dying CPU's thread, in reverse registration order: each runs whatever the others do (the kernel only WARNs on a failing teardown).</summary>
    private List<Exception> RunOfflineSteps(int cpu)
    {
        HotplugRegistration[] registrations = HotplugSteps();
        Array.Reverse(registrations);
        var errors = new List<Exception>();
        foreach (HotplugRegistration registration in registrations)
        {
            if (RunStep(registration, online: false, cpu, $"taking cpu{cpu} offline", OfflineStepOutcome, out _) is { } failed)
            {
                errors.Add(failed);
            }
        }

        return errors;
    }

    private HotplugRegistration[] HotplugSteps()
    {
        lock (_hotplugCallbacks)
        {
            return _hotplugCallbacks.ToArray();
        }
    }

    /// <summary>
    /// Runs one step unless its registration was disposed (<paramref name="invoked"/> false then); returns
    /// its error, named, or null. Logged as well as returned: a hotplug call nobody awaits (fire and forget,
    /// a hosted service's) still reports it, as the kernel WARNs on a failing teardown step.
    /// </summary>
    private InvalidOperationException? RunStep(HotplugRegistration registration, bool online, int cpu, string when, string outcome, out bool invoked)
    {
        HotplugCallback step = registration.Callback;
        try
        {
            invoked = registration.TryInvoke(online ? step.Online : step.Offline, cpu);
            return null;
        }
        catch (Exception e)
        {
            invoked = true;
            RtLog.HotplugStepFailed(_logger, step.Name, when, outcome, e);
            return new InvalidOperationException($"Hotplug step '{step.Name}' failed {when}: {e.Message}", e);
        }
    }

    private static void ValidateHotplugStep(HotplugCallback callback)
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
}
