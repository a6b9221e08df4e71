using System.Collections.Concurrent;
using RtRuntime.Cpus;

namespace RtRuntime.Tasks;

/// <summary>
/// A <see cref="TaskScheduler"/> that runs ordinary <see cref="Task"/> code on the runtime's CPUs at a
/// fixed priority: each queued Task becomes a runtime task. Awaits inside such Tasks resume through
/// this scheduler (TaskScheduler.Current), so every continuation runs at the same priority.
/// </summary>
public sealed class RtTaskScheduler : TaskScheduler
{
    private readonly RtScheduler _runtime;
    private readonly string _name;
    private readonly int _priority;
    private readonly SchedPolicy _policy;
    private readonly CpuSet? _affinity;
    private readonly ConcurrentDictionary<Task, byte> _queued = new();

    /// <summary>Creates an adapter that runs Tasks at <paramref name="priority"/> with <paramref name="policy"/> on <paramref name="affinity"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="runtime"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or white space (as for Spawn; null names its tasks <c>tasksched-p&lt;priority&gt;</c>).</exception>
    /// <exception cref="ArgumentOutOfRangeException">The priority, policy or affinity is invalid, or the affinity has no active CPU now (as for Spawn: the kernel's EINVAL).</exception>
    /// <remarks>
    /// The affinity is checked against the CPUs active when the adapter is made, as a spawn's is. When
    /// every CPU of it goes offline later, its Tasks are not refused (a throw from <see cref="QueueTask"/>
    /// would fault the caller of Task.Start, or lose a continuation): each one's runtime task gets
    /// <c>select_fallback_rq</c>'s widening to every CPU with a "no longer affine" warning, as a task whose
    /// CPUs go offline after it was placed does, and Tasks queued once one of its CPUs is active again
    /// run on it again.
    /// </remarks>
    public RtTaskScheduler(RtScheduler runtime, int priority, SchedPolicy policy = SchedPolicy.Fifo, CpuSet? affinity = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        _runtime = runtime;
        _priority = priority;
        _policy = policy;
        _affinity = affinity;
        _name = name ?? "tasksched-p" + priority.ToString(System.Globalization.CultureInfo.InvariantCulture);

        // Validate now, with Spawn's messages, rather than at the first queued Task. A mask with no active
        // CPU is refused here, where the caller chose it, as Spawn refuses it; its spawns are not checked
        // (SpawnWithoutContextFlow), as its CPUs going offline later is the fallback case.
        CpuSet mask = _runtime.ValidateSpawn(_name, priority, policy, affinity);
        _runtime.ThrowIfNoActiveCpu(affinity, mask);
    }

    /// <summary>The CPUs its Tasks may run on at once: those of its affinity (every CPU of the runtime without one).</summary>
    public override int MaximumConcurrencyLevel => _affinity?.Count ?? _runtime.CpuCount;

    /// <inheritdoc/>
    protected override void QueueTask(Task task)
    {
        _queued.TryAdd(task, 0);
        RtTask wrapper;
        try
        {
            wrapper = _runtime.SpawnWithoutContextFlow(_name, _priority, ctx =>
            {
                if (_queued.TryRemove(task, out _))
                {
                    _ = Execute(task);
                }

                return ValueTask.CompletedTask;
            }, _policy, _affinity);
        }
        catch (InvalidOperationException) when (!_runtime.IsAccepting)
        {
            // The runtime stops (or has stopped): the Task runs on the ThreadPool. It is most often the
            // continuation of a Task already running here, whose await completed after the stop began,
            // and the TPL drops a continuation its scheduler refuses (the async method would stay
            // suspended for ever, its awaiters with it).
            RunOnThreadPool(task);
            return;
        }
        catch
        {
            _queued.TryRemove(task, out _); // not queued after all: the Task faults with the refusal
            throw;
        }

        // A wrapper the runtime's stop cancels before it starts never runs its body: the Task then runs
        // on the ThreadPool rather than wait forever (nothing accepted is lost). The check runs on the
        // thread that ends the wrapper, so a wrapper that ran costs no ThreadPool work item.
        wrapper.AddCompletionCallback(() => RunOnThreadPool(task));
    }

    /// <summary>Runs <paramref name="task"/> on the ThreadPool instead, unless a runtime task or an inline call took it.</summary>
    private void RunOnThreadPool(Task task)
    {
        if (_queued.TryRemove(task, out _))
        {
            ThreadPool.UnsafeQueueUserWorkItem(static s => _ = s.Scheduler.Execute(s.Task), (Scheduler: this, Task: task), preferLocal: false);
        }
    }

    /// <summary>
    /// Runs <paramref name="task"/> here with no SynchronizationContext, so that its awaits resume
    /// through this scheduler (TaskScheduler.Current: a new runtime task each), not through the context
    /// of the runtime task that happens to run it, which may end first.
    /// </summary>
    private bool Execute(Task task)
    {
        SynchronizationContext? saved = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            return TryExecuteTask(task);
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(saved);
        }
    }

    /// <inheritdoc/>
    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued)
    {
        // Inline only on a CPU of this runtime that this scheduler's affinity allows: a Task queued here
        // never runs on another runtime's CPUs or outside its CPUs. A continuation (not queued before) runs
        // inline only in a task of its priority or higher, or it would run at a lower one. A queued Task
        // inlined by a Wait runs in any task, lower ones too: the waiter blocks its CPU thread until the
        // Task ends, so the Task's own runtime task could never run on this CPU (the need_resched it sets
        // waits for a preemption point the blocked waiter never reaches), and a CPU whose only allowed
        // place is this one would be deadlocked for good.
        if (Cpu.CurrentTask is not { } current
            || (!taskWasPreviouslyQueued && current.Prio < (_policy == SchedPolicy.Normal ? 0 : _priority))
            || Cpu.Current is not { } cpu || cpu.Scheduler != _runtime || (_affinity is { } mask && !mask.Contains(cpu.Id)))
        {
            return false;
        }

        if (taskWasPreviouslyQueued && !_queued.TryRemove(task, out _))
        {
            return false;
        }

        return Execute(task);
    }

    /// <summary>
    /// Takes back a Task that has not started, which the TPL asks for when the Task's cancellation token is
    /// cancelled: the Task then ends Canceled at once instead of waiting for a CPU (its runtime task still
    /// runs when the CPU picks it, and finds nothing to run). The TPL asks for Tasks started with Start and for
    /// continuations; Task.Factory.StartNew registers nothing on its token, on any scheduler.
    /// </summary>
    protected override bool TryDequeue(Task task) => _queued.TryRemove(task, out _);

    /// <inheritdoc/>
    protected override IEnumerable<Task> GetScheduledTasks() => _queued.Keys.ToArray();
}
