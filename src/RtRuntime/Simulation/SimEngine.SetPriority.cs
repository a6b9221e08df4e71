using RtRuntime.Scheduling;

namespace RtRuntime.Simulation;

/// <summary>
/// sched_setparam(pid) on another task (the threaded <c>RtScheduler.SetPriority</c>): each state has
/// its owner. A queued task is requeued at once (at the head of its new priority when lowered, at the
/// tail when raised, as <c>__sched_setscheduler</c> does); a waiting one moves among the event's
/// waiters at once; a sleeping one takes it at once (its wakeup places it at the new priority); a task
/// running on another CPU takes it at its next preemption point, yield or block, from its own CPU (the
/// stopper's bit makes its next point the slow path that applies it).
/// </summary>
internal sealed partial class SimEngine
{
    private void SetPriority(SimTask caller, SimTask target, int priority)
    {
        if (target == caller)
        {
            SetOwnPriority(caller, priority);
            return;
        }

        switch (target.State)
        {
            case SimTaskState.NotSpawned:
                target.Prio = priority; // its spawn places it at the new priority
                break;
            case SimTaskState.Queued:
            {
                SimCpu cpu = _cpus[target.Cpu];
                int old = target.Prio;
                Dequeue(cpu, target);
                target.Prio = priority;
                Enqueue(cpu, target, atHead: priority < old); // need_resched when it now outranks the runner (its next point sees QueuedTop)
                _rebalance = true; // a raised task may run on a CPU busy below it (the threaded PriorityChanged pass)
                break;
            }

            case SimTaskState.Waiting:
                target.Prio = priority;
                if (target.WaitingOn!.Waiters.Remove(target)) // not listed: lost by an injected fault
                {
                    target.WaitingOn.Add(target); // at the tail of its new priority
                }

                break;
            case SimTaskState.Sleeping or SimTaskState.AffinityWait:
                target.Prio = priority;
                break;
            case SimTaskState.Running:
                target.PriorityRequest = priority;
                _cpus[target.Cpu].StopPending = true; // its next preemption point takes the slow path, which applies it
                break;
        }
    }

    /// <summary>The step of a running task ends with a priority set by another task waiting: it takes it now, as if it had set it itself.</summary>
    private void TakePriorityRequest(SimTask task)
    {
        if (task.PriorityRequest != 0)
        {
            SetOwnPriority(task, task.PriorityRequest);
        }
    }
}
