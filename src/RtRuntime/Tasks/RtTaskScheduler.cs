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
    /// <exception cref="ArgumentOutOfRangeException">The priority, policy or affinity is invalid (as for Spawn).</exception>
    public RtTaskScheduler(RtScheduler runtime, int priority, SchedPolicy policy = SchedPolicy.Fifo, CpuSet? affinity = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        _runtime = runtime;
        _priority = priority;
        _policy = policy;
        _affinity = affinity;
        _name = name ?? "tasksched-p" + priority.ToString(System.Globalization.CultureInfo.InvariantCulture);

        // Validate now, with Spawn's messages, rather than at the first queued Task.
        _runtime.ValidateSpawn(_name, priority, policy, affinity);
    }

    /// <inheritdoc/>
    public override int MaximumConcurrencyLevel => _runtime.CpuCount;

    /// <inheritdoc/>
    protected override void QueueTask(Task task)
    {
        _queued.TryAdd(task, 0);
        _runtime.Spawn(_name, _priority, ctx =>
        {
            _queued.TryRemove(task, out _);

            // Let awaits inside the Task resume through this scheduler (a new runtime task each), not
            // through the wrapper task's SynchronizationContext, which ends when this body returns.
            SynchronizationContext? saved = SynchronizationContext.Current;
            SynchronizationContext.SetSynchronizationContext(null);
            try
            {
                TryExecuteTask(task);
            }
            finally
            {
                SynchronizationContext.SetSynchronizationContext(saved);
            }

            return ValueTask.CompletedTask;
        }, _policy, _affinity);
    }

    /// <inheritdoc/>
    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued)
    {
        // Inline only on a runtime CPU running a task of this scheduler's priority or higher.
        if (Cpu.CurrentTask is not { } current || current.Prio < (_policy == SchedPolicy.Normal ? 0 : _priority))
        {
            return false;
        }

        if (taskWasPreviouslyQueued && !_queued.TryRemove(task, out _))
        {
            return false;
        }

        return TryExecuteTask(task);
    }

    /// <inheritdoc/>
    protected override IEnumerable<Task> GetScheduledTasks() => _queued.Keys.ToArray();
}
