using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Simulation;

/// <summary>One step of a simulated task's script. Create steps with the static factories.</summary>
public sealed class SimStep
{
    private SimStep(SimStepKind kind, long durationUs = 0, long everyUs = 0, string? target = null, CpuSet cpus = default, int count = 0, IReadOnlyList<SimStep>? body = null, SchedPolicy policy = SchedPolicy.Fifo)
    {
        Policy = policy;
        Kind = kind;
        DurationUs = durationUs;
        EveryUs = everyUs;
        Target = target;
        Cpus = cpus;
        Count = count;
        Body = body ?? [];
    }

    /// <summary>What the step does.</summary>
    public SimStepKind Kind { get; }

    /// <summary>For <see cref="SimStepKind.Run"/> and <see cref="SimStepKind.Sleep"/>: virtual µs; for <see cref="SimStepKind.Lock"/>: the wait's timeout in µs (0: none).</summary>
    public long DurationUs { get; }

    /// <summary>For <see cref="SimStepKind.Run"/>: a preemption point every this many µs (0: only at the end).</summary>
    public long EveryUs { get; }

    /// <summary>For <see cref="SimStepKind.Wait"/>/<see cref="SimStepKind.Signal"/>: the event name; for <see cref="SimStepKind.Lock"/>/<see cref="SimStepKind.TryLock"/>/<see cref="SimStepKind.Unlock"/>: the mutex name; for <see cref="SimStepKind.LocalLock"/>/<see cref="SimStepKind.TryLocalLock"/>/<see cref="SimStepKind.LocalUnlock"/>: the local lock's name; for <see cref="SimStepKind.SetAffinity"/>: the target task's name; for <see cref="SimStepKind.SetPriority"/> and <see cref="SimStepKind.SetScheduler"/>: the target task's name, or null for the caller itself.</summary>
    public string? Target { get; }

    /// <summary>For <see cref="SimStepKind.SetAffinity"/>: the requested mask.</summary>
    public CpuSet Cpus { get; }

    /// <summary>For <see cref="SimStepKind.Repeat"/>: how many times the body runs; for <see cref="SimStepKind.SetPriority"/> and <see cref="SimStepKind.SetScheduler"/>: the new priority.</summary>
    public int Count { get; }

    /// <summary>For <see cref="SimStepKind.SetScheduler"/>: the new policy.</summary>
    public SchedPolicy Policy { get; }

    /// <summary>For <see cref="SimStepKind.Repeat"/>: the repeated steps.</summary>
    public IReadOnlyList<SimStep> Body { get; }

    /// <summary>Compute for <paramref name="us"/> µs, with a preemption point at the end and every <paramref name="everyUs"/> µs (0: end only).</summary>
    /// <param name="us">Virtual microseconds, 1 or more.</param>
    /// <param name="everyUs">Preemption point spacing in µs, or 0.</param>
    public static SimStep Run(long us, long everyUs = 0) => new(SimStepKind.Run, durationUs: us, everyUs: everyUs);

    /// <summary>A preemption point.</summary>
    public static SimStep PreemptionPoint() => new(SimStepKind.PreemptionPoint);

    /// <summary><c>sched_yield()</c>.</summary>
    public static SimStep Yield() => new(SimStepKind.Yield);

    /// <summary><c>preempt_disable()</c>.</summary>
    public static SimStep PreemptDisable() => new(SimStepKind.PreemptDisable);

    /// <summary><c>preempt_enable()</c>.</summary>
    public static SimStep PreemptEnable() => new(SimStepKind.PreemptEnable);

    /// <summary><c>migrate_disable()</c>.</summary>
    public static SimStep MigrateDisable() => new(SimStepKind.MigrateDisable);

    /// <summary><c>migrate_enable()</c>.</summary>
    public static SimStep MigrateEnable() => new(SimStepKind.MigrateEnable);

    /// <summary>Sleep for <paramref name="us"/> µs.</summary>
    /// <param name="us">Virtual microseconds, 0 or more.</param>
    public static SimStep Sleep(long us) => new(SimStepKind.Sleep, durationUs: us);

    /// <summary>Wait for the counting event <paramref name="eventName"/>.</summary>
    /// <param name="eventName">The event's name.</param>
    public static SimStep Wait(string eventName) => new(SimStepKind.Wait, target: eventName);

    /// <summary>Signal the counting event <paramref name="eventName"/>.</summary>
    /// <param name="eventName">The event's name.</param>
    public static SimStep Signal(string eventName) => new(SimStepKind.Signal, target: eventName);

    /// <summary>Set the affinity of task <paramref name="task"/> to <paramref name="cpus"/>.</summary>
    /// <param name="task">The target task's name (may be the caller itself).</param>
    /// <param name="cpus">The requested mask.</param>
    public static SimStep SetAffinity(string task, CpuSet cpus) => new(SimStepKind.SetAffinity, target: task, cpus: cpus);

    /// <summary>Set the calling task's own priority to <paramref name="priority"/> (<c>TaskContext.SetPriority</c>).</summary>
    /// <param name="priority">1..99; the task's policy must be FIFO or RR.</param>
    public static SimStep SetPriority(int priority) => new(SimStepKind.SetPriority, count: priority);

    /// <summary>Set the priority of task <paramref name="task"/> to <paramref name="priority"/> (<c>RtScheduler.SetPriority(task, priority)</c>).</summary>
    /// <param name="task">The target task's name (may be the caller itself).</param>
    /// <param name="priority">1..99; the target's policy must be FIFO or RR.</param>
    public static SimStep SetPriority(string task, int priority) => new(SimStepKind.SetPriority, target: task, count: priority);

    /// <summary>Set the calling task's own policy and priority (<c>TaskContext.SetScheduler</c>).</summary>
    /// <param name="policy">The new policy.</param>
    /// <param name="priority">1..99 for FIFO and RR; 0 for Normal.</param>
    public static SimStep SetScheduler(SchedPolicy policy, int priority) => new(SimStepKind.SetScheduler, count: priority, policy: policy);

    /// <summary>Set the policy and priority of task <paramref name="task"/> (<c>RtScheduler.SetScheduler(task, policy, priority)</c>).</summary>
    /// <param name="task">The target task's name (may be the caller itself).</param>
    /// <param name="policy">The new policy.</param>
    /// <param name="priority">1..99 for FIFO and RR; 0 for Normal.</param>
    public static SimStep SetScheduler(string task, SchedPolicy policy, int priority) => new(SimStepKind.SetScheduler, target: task, count: priority, policy: policy);

    /// <summary>Lock the RtMutex <paramref name="mutex"/> (priority inheritance while others wait for it).</summary>
    /// <param name="mutex">The mutex's name.</param>
    public static SimStep Lock(string mutex) => new(SimStepKind.Lock, target: mutex);

    /// <summary>
    /// Lock the RtMutex <paramref name="mutex"/>, waiting at most <paramref name="timeoutUs"/> µs
    /// (<c>RtMutex.WaitAsync(ctx, timeout)</c>): on timeout the task skips to after its next unlock of it.
    /// </summary>
    /// <param name="mutex">The mutex's name.</param>
    /// <param name="timeoutUs">Virtual microseconds, 1 or more.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeoutUs"/> is below 1.</exception>
    public static SimStep Lock(string mutex, long timeoutUs) =>
        // A DurationUs of 0 is Lock(mutex)'s "no timeout": a 0 taken here would wait without one, where
        // the threaded WaitAsync(ctx, TimeSpan.Zero) takes the mutex only if it is free (a file's
        // "timeoutUs": 0 is refused by the reader); a negative one would only be caught by Validate.
        timeoutUs < 1
            ? throw new ArgumentOutOfRangeException(nameof(timeoutUs), timeoutUs, $"A lock's timeout must be 1 µs or more (at most {SimScenario.MaxTimeUs} µs); for no timeout use Lock(mutex), to take the mutex only if it is free use TryLock(mutex).")
            : new(SimStepKind.Lock, durationUs: timeoutUs, target: mutex);

    /// <summary>Take the RtMutex <paramref name="mutex"/> if it is free (<c>RtMutex.TryLock</c>); held by another task, skip to after the task's next unlock of it; held by this task, a recursive lock (reported, ignored).</summary>
    /// <param name="mutex">The mutex's name.</param>
    public static SimStep TryLock(string mutex) => new(SimStepKind.TryLock, target: mutex);

    /// <summary>Unlock the RtMutex <paramref name="mutex"/>, which the task holds.</summary>
    /// <param name="mutex">The mutex's name.</param>
    public static SimStep Unlock(string mutex) => new(SimStepKind.Unlock, target: mutex);

    /// <summary>Take this CPU's instance of the local lock <paramref name="name"/> (<c>LocalLock.LockAsync</c>).</summary>
    /// <param name="name">The lock's name.</param>
    public static SimStep LocalLock(string name) => new(SimStepKind.LocalLock, target: name);

    /// <summary>Take this CPU's instance of the local lock <paramref name="name"/> if it is free (<c>LocalLock.TryLock</c>); else skip to after the task's next local unlock of it.</summary>
    /// <param name="name">The lock's name.</param>
    public static SimStep TryLocalLock(string name) => new(SimStepKind.TryLocalLock, target: name);

    /// <summary>Release the local lock <paramref name="name"/>, which the task holds on its CPU.</summary>
    /// <param name="name">The lock's name.</param>
    public static SimStep LocalUnlock(string name) => new(SimStepKind.LocalUnlock, target: name);

    /// <summary>End the task.</summary>
    public static SimStep Exit() => new(SimStepKind.Exit);

    /// <summary>Run <paramref name="body"/> <paramref name="count"/> times.</summary>
    /// <param name="count">Repetitions, 0 or more.</param>
    /// <param name="body">The steps to repeat.</param>
    public static SimStep Repeat(int count, params IReadOnlyList<SimStep> body) => new(SimStepKind.Repeat, count: count, body: body);

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        SimStepKind.Run => EveryUs > 0 ? $"run {DurationUs}us every {EveryUs}us" : $"run {DurationUs}us",
        SimStepKind.Sleep => $"sleep {DurationUs}us",
        SimStepKind.Lock when DurationUs > 0 => $"lock {Target} timeout {DurationUs}us",
        SimStepKind.Wait or SimStepKind.Signal or SimStepKind.Lock or SimStepKind.Unlock => $"{Kind.ToString().ToLowerInvariant()} {Target}",
        SimStepKind.TryLock => $"tryLock {Target}",
        SimStepKind.LocalLock => $"localLock {Target}",
        SimStepKind.TryLocalLock => $"tryLocalLock {Target}",
        SimStepKind.LocalUnlock => $"localUnlock {Target}",
        SimStepKind.SetAffinity => $"setAffinity {Target} {Cpus}",
        SimStepKind.Repeat => $"repeat {Count} x {Body.Count} steps",
        SimStepKind.SetPriority => Target is null ? $"setPriority {Count}" : $"setPriority {Target} {Count}",
        SimStepKind.SetScheduler => Target is null ? $"setScheduler {Policy} {Count}" : $"setScheduler {Target} {Policy} {Count}",
        _ => Kind.ToString(),
    };
}
