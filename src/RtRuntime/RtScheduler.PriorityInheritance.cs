using RtRuntime.Cpus;
using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime;

/// <summary>Priority inheritance for local locks (the kernel's rt_mutex_setprio / rt_mutex_adjust_prio_chain).</summary>
public sealed partial class RtScheduler
{
    /// <summary>
    /// Sets <paramref name="task"/>'s effective priority to the highest of its normal priority and the
    /// top waiters of the local locks it holds, requeueing it; if it is itself blocked on a local lock,
    /// the boost walks on to that lock's owner. Every task involved is pinned to <paramref name="cpu"/>,
    /// whose lock the caller holds.
    /// </summary>
    internal static void RecomputePrioLocked(Cpu cpu, RtTask task)
    {
        for (int depth = 0; depth < 1024; depth++) // the chain is bounded by the tasks on one CPU
        {
            int prio = BoostedPrioLocked(cpu, task);
            if (prio == task.Prio)
            {
                return;
            }

            // Its place among the waiters follows its new priority; the boost walks on to that lock's owner.
            // A holder asleep on a wait queue (an Rt local lock's holder may block) moves there too: the
            // queue hands over in priority order, and the boost is what lets it pass lower waiters. There
            // the priority changes under the queue's gate, with the move: tasks on other CPUs list
            // themselves meanwhile, and one listed between the two went after the waiter's new priority
            // at its old place, where it stayed behind lower waiters.
            IWaitSource? waitingOn = Volatile.Read(ref task.BlockedOn);
            if (waitingOn is RtWaitQueue queue)
            {
                queue.ChangeWaiterPrio(cpu, task, prio);
                return;
            }

            SetPrioLocked(cpu, task, prio);
            if (waitingOn is not LocalLockState blockedOn || !blockedOn.RepositionWaiterLocked(task))
            {
                return;
            }

            if (blockedOn.Owner is not { } next)
            {
                return;
            }

            task = next;
        }
    }

    /// <summary>
    /// The effective priority <paramref name="task"/> should have on <paramref name="cpu"/> (lock held):
    /// the higher of its normal priority and the top waiters of the local locks it holds there.
    /// </summary>
    internal static int BoostedPrioLocked(Cpu cpu, RtTask task)
    {
        int prio = task.NormalPrio;
        foreach (LocalLockState contended in cpu.ContendedLocks)
        {
            if (contended.Owner == task)
            {
                prio = Math.Max(prio, contended.TopWaiterPrio); // a lock without waiters boosts nobody
            }
        }

        return prio;
    }

    /// <summary>Sets the effective priority of <paramref name="task"/>, requeueing it when it is queued or running on <paramref name="cpu"/> (whose lock the caller holds).</summary>
    internal static void SetPrioLocked(Cpu cpu, RtTask task, int prio)
    {
        int old = task.Prio;
        if (task.Run == TaskRunState.Queued && task.Cpu == cpu && cpu.Rq.Contains(task))
        {
            cpu.DequeueLocked(task);
            task.PrioVolatile = prio;
            cpu.EnqueueLocked(task, atHead: prio < old && prio > 0); // at the head when lowered (__sched_setscheduler, rt_mutex_setprio); into the normal class at its tail (the head is an RT-class rule)
        }
        else if (cpu.Running == task)
        {
            task.PrioVolatile = prio;
            cpu.SetRunningPrioLocked(prio);
        }
        else
        {
            task.PrioVolatile = prio;
        }
    }
}
