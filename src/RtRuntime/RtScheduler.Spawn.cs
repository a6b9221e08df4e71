using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime;

/// <summary>Spawning tasks: validation, registration, first placement.</summary>
public sealed partial class RtScheduler
{
    /// <summary>
    /// Spawns a task running <paramref name="body"/> at <paramref name="priority"/> (1..99 for FIFO and RR,
    /// 99 highest; 0 for <see cref="SchedPolicy.Normal"/>), allowed on <paramref name="affinity"/> (default:
    /// every CPU). Cancellation through <paramref name="cancellationToken"/> is observed at preemption points
    /// and blocking waits.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or white space (null asks for a generated name, <c>task-&lt;id&gt;</c>).</exception>
    /// <exception cref="ArgumentOutOfRangeException">The priority, policy or affinity is invalid, or the affinity has no active CPU (the kernel's EINVAL).</exception>
    /// <exception cref="InvalidOperationException">The runtime is stopping or has stopped (the message says which).</exception>
    public RtTask Spawn(string? name, int priority, Func<TaskContext, ValueTask> body, SchedPolicy policy = SchedPolicy.Fifo, CpuSet? affinity = null, CancellationToken cancellationToken = default)
    {
        ThrowIfNullBody(body, name);
        CpuSet mask = ValidateSpawn(name, priority, policy, affinity);
        ThrowIfNoActiveCpu(affinity, mask);
        return Admit(new VoidRtTask(this, name, priority, policy, mask, body), cancellationToken);
    }

    /// <summary>Spawns a task whose body returns a result; see <see cref="Spawn(string, int, Func{TaskContext, ValueTask}, SchedPolicy, CpuSet?, CancellationToken)"/>.</summary>
    /// <typeparam name="T">The result type.</typeparam>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or white space (null asks for a generated name, <c>task-&lt;id&gt;</c>).</exception>
    /// <exception cref="ArgumentOutOfRangeException">The priority, policy or affinity is invalid, or the affinity has no active CPU (the kernel's EINVAL).</exception>
    /// <exception cref="InvalidOperationException">The runtime is stopping or has stopped (the message says which).</exception>
    public RtTask<T> Spawn<T>(string? name, int priority, Func<TaskContext, ValueTask<T>> body, SchedPolicy policy = SchedPolicy.Fifo, CpuSet? affinity = null, CancellationToken cancellationToken = default)
    {
        ThrowIfNullBody(body, name);
        CpuSet mask = ValidateSpawn(name, priority, policy, affinity);
        ThrowIfNoActiveCpu(affinity, mask);
        return (RtTask<T>)Admit(new RtTask<T>(this, name, priority, policy, mask, body), cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="body"/> as a task, as <see cref="Spawn(string, int, Func{TaskContext, ValueTask}, SchedPolicy, CpuSet?, CancellationToken)"/>
    /// does, and returns its completion as a <see cref="ValueTask"/> instead of a handle: the task object
    /// comes from the runtime's cache and goes back to it when the task ends, so that once the cache is
    /// warm a spawn allocates nothing (the kernel's <c>task_struct</c> slab cache).
    /// </summary>
    /// <remarks>
    /// <para>
    /// A task goes back to the cache only if it completed successfully without ever blocking (no sleep,
    /// wait, lock wait or foreign await: those leave wakers and timers that may still refer to it) and
    /// without a <paramref name="cancellationToken"/>; any other task is left to the GC, as a spawned
    /// one is. The returned ValueTask stays right after the object is reused: a completion of an
    /// earlier life reads as completed successfully (an object lives at most 65,536 times, the range of
    /// a ValueTask's token). Await it at most once, as any ValueTask.
    /// </para>
    /// <para>
    /// The body does not run under its task's <see cref="SynchronizationContext"/>, as a spawned body
    /// does, but under one shared by the runtime's RunAsync tasks: a continuation posted to it, after a
    /// foreign await (a <see cref="Task"/>, I/O) or by an async call the body did not await, runs on
    /// the runtime in a short task <c>runasync/posted</c> in the normal class, never in the pooled task
    /// (whose object may be running another task by then). One exception: when the awaited work is
    /// completed by code that itself runs under that shared context (another RunAsync task, or a
    /// <c>runasync/posted</c> task, completing a <see cref="TaskCompletionSource"/> created without
    /// <see cref="TaskCreationOptions.RunContinuationsAsynchronously"/>), .NET runs the continuation
    /// inline, inside that task's step and at its priority. A body that goes on after a foreign await
    /// therefore runs outside its task, as after <c>ConfigureAwait(false)</c>: its
    /// <see cref="TaskContext"/> then throws. Spawn bodies that await foreign work with
    /// <see cref="Spawn(string, int, Func{TaskContext, ValueTask}, SchedPolicy, CpuSet?, CancellationToken)"/>.
    /// The body's <see cref="TaskContext"/> and its <see cref="TaskContext.Task"/> handle belong to
    /// the task only until it ends: another thread that calls <see cref="SetPriority"/> or
    /// <see cref="SetAffinityAsync"/> through a handle the body handed out may race the task's end and
    /// reach the object's next life, so spawn a task that other threads manage with <c>Spawn</c>, whose
    /// object is never reused. An await of the handle begun in the task's life ends with that life,
    /// as the returned ValueTask does, even if the object lives again before the await registers.
    /// Await every async call the body starts: one left running that
    /// awaits foreign work may be resumed inline by a later task on the same object (one that completes
    /// that work under the same context), where its context passes for that task's and a suspension
    /// through it faults that task, reported as two flows of one task (the same misuse a spawned
    /// task's un-awaited call that suspends on a runtime awaitable is reported as).
    /// </para>
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or white space (null asks for a generated name, <c>task-&lt;id&gt;</c>).</exception>
    /// <exception cref="ArgumentOutOfRangeException">The priority, policy or affinity is invalid, or the affinity has no active CPU (the kernel's EINVAL).</exception>
    /// <exception cref="InvalidOperationException">The runtime is stopping or has stopped (the message says which).</exception>
    public ValueTask RunAsync(string? name, int priority, Func<TaskContext, ValueTask> body, SchedPolicy policy = SchedPolicy.Fifo, CpuSet? affinity = null, CancellationToken cancellationToken = default)
    {
        ThrowIfNullBody(body, name);
        CpuSet mask = ValidateSpawn(name, priority, policy, affinity);
        ThrowIfNoActiveCpu(affinity, mask);
        VoidRtTask task = TaskCache.Take()?.Reincarnate(name, priority, policy, mask, body)
            ?? new VoidRtTask(this, name, priority, policy, mask, body) { Pooled = true };
        short token = task.Token; // before it can run, end and be retired
        _ = Admit(task, cancellationToken);
        return new ValueTask(task, token);
    }

    private static void ThrowIfNullBody(object? body, string? name)
    {
        if (body is null)
        {
            throw new ArgumentNullException(nameof(body), $"body of {TaskText(name)} is null; it must be an async function taking the task's TaskContext.");
        }
    }

    /// <summary>
    /// A spawn's task as a refusal names it: <c>task 'name'</c>, or for a null name (which asks for a
    /// generated one) <c>an unnamed task</c>, not <c>task ''</c>, the empty name <see cref="ValidateName"/>
    /// refuses (review helper-162). <paramref name="policy"/>, when given, qualifies it.
    /// </summary>
    private static string TaskText(string? name, SchedPolicy? policy = null) =>
        (name, policy) switch
        {
            (null, null) => "an unnamed task",
            (null, { } p) => $"an unnamed {p} task",
            (_, null) => $"task '{name}'",
            (_, { } p) => $"{p} task '{name}'",
        };

    internal CpuSet ValidateSpawn(string? name, int priority, SchedPolicy policy, CpuSet? affinity)
    {
        ValidateName(name);
        ValidatePolicy(name, priority, policy);
        return ValidateAffinity(affinity, nameof(affinity));
    }

    /// <summary>
    /// A task's name, when given, has a character that is not white space: it is what names the task in
    /// every log line, BUG report, snapshot and error (the kernel's comm), and an empty one names nothing
    /// there ("task ''"). Null is the way to ask for a generated name, as the hosting layer's workers and
    /// hotplug steps refuse white-space names too.
    /// </summary>
    private static void ValidateName(string? name)
    {
        if (name is not null && string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException(
                $"task name '{name}' is empty or white space; it must contain a character that is not white space (it names the task in logs, BUG reports and errors), or be null for a generated name (task-<id>).",
                nameof(name));
        }
    }

    /// <summary>A policy with a priority it allows: Fifo and RoundRobin 1..99, Normal 0 (the kernel's sched_setscheduler checks).</summary>
    internal static void ValidatePolicy(string? name, int priority, SchedPolicy policy)
    {
        switch (policy)
        {
            case SchedPolicy.Fifo or SchedPolicy.RoundRobin when priority is < 1 or > 99:
                throw new ArgumentOutOfRangeException(nameof(priority), priority, $"priority of {TaskText(name, policy)} must be 1..99 (99 highest).");
            case SchedPolicy.Normal when priority != 0:
                throw new ArgumentOutOfRangeException(nameof(priority), priority, $"priority of {TaskText(name, policy)} must be 0: the normal class has no RT priority.");
            case SchedPolicy.Fifo or SchedPolicy.RoundRobin or SchedPolicy.Normal:
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(policy), policy, "policy must be Fifo, RoundRobin or Normal.");
        }
    }

    internal CpuSet ValidateAffinity(CpuSet? affinity, string paramName)
    {
        if (affinity is not { } mask)
        {
            return AllCpus;
        }

        if (mask.IsEmpty)
        {
            throw new ArgumentOutOfRangeException(paramName, mask.ToString(), $"affinity is empty; it must name at least one CPU of 0..{_cpus.Length - 1}.");
        }

        if (!mask.IsSubsetOf(AllCpus))
        {
            throw new ArgumentOutOfRangeException(paramName, mask.ToString(), $"affinity {{{mask}}} names CPUs this runtime does not have; allowed CPUs are 0..{_cpus.Length - 1}.");
        }

        return mask;
    }

    /// <summary>
    /// A spawn's or <see cref="SetAffinityAsync"/>'s affinity with no active CPU (online and not going
    /// offline) is refused, as <c>sched_setaffinity()</c> fails with EINVAL (<c>__set_cpus_allowed_ptr_locked</c>:
    /// no CPU of the new mask in <c>cpu_active_mask</c>): placed anyway, the task would only be widened to
    /// every CPU (<c>select_fallback_rq</c>), running where its caller said it must not. Only a mask the
    /// caller gave is checked (every CPU, the default, always holds an active one: the last online CPU
    /// cannot go offline), so a spawn without an affinity reads nothing more, and one with an affinity reads
    /// the active state of its CPUs up to the first active one (one load when that is its first CPU). A CPU
    /// that goes inactive after this check still gets the fallback at placement, as a task whose CPUs go
    /// offline later does: the task is widened and runs, never lost.
    /// </summary>
    internal void ThrowIfNoActiveCpu(CpuSet? affinity, CpuSet mask)
    {
        if (affinity is not null && !Scheduling.Placement.AnyActive(mask, _cpuViews))
        {
            throw NoActiveCpu(mask);
        }
    }

    /// <summary>The EINVAL of a mask without an active CPU, naming the mask and the CPUs active now.</summary>
    private ArgumentOutOfRangeException NoActiveCpu(CpuSet affinity) =>
        new(nameof(affinity), affinity.ToString(),
            $"affinity {{{affinity}}} has no active CPU (online and not going offline); active now: {{{CpuSet.Of(_cpus.Where(c => c.Active).Select(c => c.Id).ToArray())}}}. A CPU that goes offline after the task was placed widens its affinity instead (select_fallback_rq).");

    /// <summary>
    /// A spawn for the runtime's own work that carries its own ExecutionContext (a <see cref="RtTaskScheduler"/>'s
    /// Tasks, which the TPL runs under theirs): nothing of the spawning thread's is flowed into it.
    /// </summary>
    internal RtTask SpawnWithoutContextFlow(string? name, int priority, Func<TaskContext, ValueTask> body, SchedPolicy policy, CpuSet? affinity)
    {
        CpuSet mask = ValidateSpawn(name, priority, policy, affinity);
        var task = new VoidRtTask(this, name, priority, policy, mask, body);
        return TryAdmit(task, default, flowContext: false) ? task : throw Refused(task);
    }

    private RtTask Admit(RtTask task, CancellationToken cancellationToken) => TryAdmit(task, cancellationToken)
        ? task
        : throw Refused(task);

    private InvalidOperationException Refused(RtTask task) =>
        new($"The runtime {StopStateText} and accepts no new tasks (spawn of '{task.Name}' refused).");

    /// <summary>
    /// Queues <paramref name="task"/>; false, with the task counted as refused, once the runtime is stopping.
    /// <paramref name="flowContext"/>: the body's first step runs under the calling thread's ExecutionContext.
    /// </summary>
    private bool TryAdmit(RtTask task, CancellationToken cancellationToken, bool flowContext = true)
    {
        // Count the task before checking _accepting; StopAsync clears _accepting before reading the
        // count, so a task is either refused here or waited for there.
        Interlocked.Increment(ref _admitted.Value);
        if (!Volatile.Read(ref _accepting))
        {
            Interlocked.Increment(ref _refused.Value);
            OnTaskGone();
            return false;
        }

        if (cancellationToken.CanBeCanceled)
        {
            RtTaskRare rare = task.Rare;
            rare.SpawnToken = cancellationToken;
            rare.CancellationRegistration = cancellationToken.UnsafeRegister(static t => ((RtTask)t!).Cancel(), task);
        }

        if (flowContext)
        {
            FlowSpawnerContext(task);
        }

        task.Run = TaskRunState.Queued;
        Activate(task);
        return true;
    }

    // The ExecutionContext of a thread that never had an AsyncLocal value set (a CPU thread's, captured
    // as it starts): a spawner with that one has nothing to flow.
    private static ExecutionContext? s_defaultContext;

    /// <summary>Puts the CPU thread back on the default context (no AsyncLocal values, flow not suppressed) when a step left another.</summary>
    internal static void ResetCpuThreadContext()
    {
        if (Volatile.Read(ref s_defaultContext) is { } clean && !ReferenceEquals(ExecutionContext.Capture(), clean))
        {
            ExecutionContext.Restore(clean);
        }
    }

    /// <summary>
    /// The spawner's <see cref="ExecutionContext"/> (its AsyncLocal values: an <c>Activity</c>, a logging
    /// scope, a culture) flows into the task's body, as <see cref="Task.Run(Action)"/>'s does: the body's first step
    /// runs under it, and every await in the body carries it on. A spawner with none set, or with flow
    /// suppressed, costs nothing more.
    /// </summary>
    private static void FlowSpawnerContext(RtTask task)
    {
        if (ExecutionContext.Capture() is { } context && !ReferenceEquals(context, Volatile.Read(ref s_defaultContext)))
        {
            task.StartUnder(context);
        }
    }
}
