using RtRuntime.Cpus;
using RtRuntime.Scheduling;
using RtRuntime.Tasks;

namespace RtRuntime;

/// <summary>sched_setparam() of a running task on itself (<see cref="TaskContext.SetPriority"/>).</summary>
public sealed partial class RtScheduler
{
    /// <summary>
    /// Sets the running <paramref name="task"/>'s own priority, on its CPU thread. Only the running task
    /// changes its own: it is then neither queued nor being woken anywhere, so its priority changes under
    /// its CPU's lock alone (a queue never holds it at a priority being rewritten).
    /// </summary>
    internal void SetOwnPriority(RtTask task, int priority)
    {
        if (task.Policy == SchedPolicy.Normal)
        {
            throw new InvalidOperationException($"task '{task.Name}' is a Normal task: it has no RT priority to set (priority {priority} refused); spawn it Fifo or RoundRobin to give it one.");
        }

        if (priority is < 1 or > 99)
        {
            throw new ArgumentOutOfRangeException(nameof(priority), priority, $"priority of {task.Policy} task '{task.Name}' must be 1..99 (99 highest).");
        }

        Cpu cpu = task.Cpu!;
        bool rebalance;
        using (cpu.Lock.EnterScope())
        {
            int old = task.Prio;
            task.SetBasePriority(priority);

            // The higher of the new priority and the waiters of the local locks it holds (rt_mutex_setprio's
            // rule); a running task's change republishes the CPU's priority and sets need_resched when its
            // queue now outranks it (SetRunningPrioLocked).
            RecomputePrioLocked(cpu, task);

            // A drop: prio_changed_rt pulls, as a task waiting on another CPU may now outrank this one. A
            // raise above a task queued here that was to preempt it (a switch pending, e.g. while the
            // task is preempt-disabled): that task now waits here behind a higher one and may run
            // elsewhere. The rebalancer's pass pushes waiting tasks to CPUs running below them (it
            // compares with the running priority, which a pull from inside the step would not).
            rebalance = task.Prio < old || (task.Prio > old && cpu.QueuedTop > old);
        }

        if (rebalance)
        {
            Rebalancer.Notify(BalanceReason.PriorityChanged);
        }
    }
}
