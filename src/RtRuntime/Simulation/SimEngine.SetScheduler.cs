using RtRuntime.Tasks;

namespace RtRuntime.Simulation;

/// <summary>
/// sched_setparam and sched_setscheduler, on the task itself or on another (the threaded
/// <c>RtScheduler.SetPriority</c> / <c>SetScheduler</c>): each state has its owner. Itself: at once. A
/// queued task is requeued at once (at the head of its new priority when lowered, at the tail when
/// raised, as <c>__sched_setscheduler</c> does); a waiting one moves among the event's waiters at once;
/// a sleeping one takes it at once (its wakeup places it at the new priority); a task running on
/// another CPU takes it at its next preemption point, yield or block, from its own CPU (the stopper's
/// bit makes its next point the slow path that applies it).
/// </summary>
internal sealed partial class SimEngine
{
    /// <summary><paramref name="policy"/> null: sched_setparam (the target's policy, or that of its request not yet taken).</summary>
    private void SetScheduler(SimTask caller, SimTask target, SchedPolicy? policy, int priority)
    {
        if (target.State == SimTaskState.Exited)
        {
            return; // ESRCH: an ended task is left as it is
        }

        if (target == caller)
        {
            TakeSchedRequest(caller); // another task's request waiting for this one's step end came first: applied before (the threaded SetOwnSched)
        }

        SchedPolicy? pending = policy is null ? target.SchedRequest?.Policy : null;
        if (policy is null && (pending ?? target.Policy) == SchedPolicy.Normal)
        {
            // The threaded runtime throws InvalidOperationException to the caller (a Normal task has no RT
            // priority); a script cannot see that, so it is reported and ignored.
            Bug(caller, $"sched_setparam({target.Name}, {priority}) refused: {target.Name} is (being made) a Normal task");
            return;
        }

        SchedPolicy newPolicy = policy ?? pending ?? target.Policy;
        if (target == caller)
        {
            SetOwnScheduler(caller, newPolicy, priority);
            return;
        }

        switch (target.State)
        {
            case SimTaskState.NotSpawned:
                SetParams(target, newPolicy, priority); // its spawn places it at the new priority
                break;
            case SimTaskState.Queued:
            {
                SimCpu cpu = _cpus[target.Cpu];
                int old = target.Prio;
                if (Math.Max(newPolicy == SchedPolicy.Normal ? 0 : priority, target.MutexBoost) == old)
                {
                    SetParams(target, newPolicy, priority); // its place stays (DEQUEUE_MOVE only for a new priority)
                    break;
                }

                Dequeue(cpu, target);
                SetParams(target, newPolicy, priority);
                Enqueue(cpu, target, atHead: target.Prio < old && target.Prio > 0); // need_resched when it now outranks the runner (its next point sees QueuedTop); the normal class at its tail
                _rebalance = true; // a raised task may run on a CPU busy below it (the threaded PriorityChanged pass)
                if (MoveRobbedWaiter(target))
                {
                    BoostChanged(target.BlockedOn!.Owner); // robbed of an RtMutex and listed again: its owner's loan follows
                }

                break;
            }

            case SimTaskState.Waiting:
            {
                int old = target.Prio;
                SetParams(target, newPolicy, priority);
                if (target.Prio != old && target.WaitingOn!.Waiters.Remove(target)) // not listed: lost by an injected fault
                {
                    target.WaitingOn.Add(target); // at the tail of its new priority
                    BoostChanged(target.BlockedOn?.Owner); // a mutex's waiter: its owner's boost follows
                }

                break;
            }
            case SimTaskState.Sleeping or SimTaskState.AffinityWait:
                SetParams(target, newPolicy, priority);
                break;
            case SimTaskState.Running:
                target.SchedRequest = (policy ?? pending, priority);
                _cpus[target.Cpu].StopPending = true; // its next preemption point takes the slow path, which applies it
                break;
        }
    }

    /// <summary>
    /// sched_setscheduler on itself (the threaded <c>RtScheduler.SetOwnPriority</c> / <c>SetOwnScheduler</c>):
    /// the running task's policy and priority change at once; becoming round-robin starts a full slice;
    /// a queued task of its CPU that now outranks it runs at its next preemption point (as a wakeup's
    /// need_resched does); a drop has every queue re-pushed (the threaded runtime's
    /// <c>PriorityChanged</c> balance pass; the kernel pulls), so a task waiting elsewhere that now
    /// outranks it comes here, and so does a raise above a task queued here that was to preempt it (a
    /// switch pending while the task is preempt-disabled), which may run elsewhere now.
    /// </summary>
    private void SetOwnScheduler(SimTask task, SchedPolicy policy, int priority)
    {
        task.SchedRequest = null; // an earlier request from another task is superseded
        task.BoostPending = false; // the effective priority below counts the boost
        int old = task.Prio;
        SchedPolicy oldPolicy = task.Policy;
        SetParams(task, policy, priority);
        if (policy == SchedPolicy.RoundRobin && oldPolicy != SchedPolicy.RoundRobin)
        {
            _cpus[task.Cpu].SliceStart = _now;
        }

        OwnPrioChanged(task, old);
    }

    /// <summary>
    /// The running task's priority moved from <paramref name="old"/>: raised to a priority tasks are
    /// queued at, it is behind them (<see cref="SimCpu.RaisedBehind"/>: the kernel enqueues a raised task
    /// at the tail of its new priority, a lowered one at the head); a drop, or a raise above a task queued
    /// to preempt it, re-pushes every queue.
    /// </summary>
    private void OwnPrioChanged(SimTask task, int old)
    {
        if (task.Prio != old)
        {
            SimCpu cpu = _cpus[task.Cpu];
            cpu.RaisedBehind = task.Prio > old ? cpu.LastQueuedAt(task.Prio) : null;
        }

        if (task.Prio < old || (task.Prio > old && _cpus[task.Cpu].QueuedTop > old))
        {
            _rebalance = true;
        }
    }

    /// <summary>The normal priority follows the policy; the effective one is the higher of it and the task's RtMutex boost.</summary>
    private static void SetParams(SimTask task, SchedPolicy policy, int priority)
    {
        if (policy != task.Policy)
        {
            task.SliceUsedUs = 0; // a task that becomes round-robin again starts a full slice
        }

        task.Policy = policy;
        task.NormalPrio = policy == SchedPolicy.Normal ? 0 : priority;
        task.Prio = task.EffectivePrio;
    }

    /// <summary>
    /// The step of a running task ends with a request from another task waiting, or a boost lent while it
    /// ran: it takes it now, as if it had made it itself.
    /// </summary>
    private void TakeSchedRequest(SimTask task)
    {
        if (task.SchedRequest is { } request)
        {
            SetOwnScheduler(task, request.Policy ?? task.Policy, request.Priority);
        }
        else if (task.BoostPending)
        {
            ApplyOwnPrio(task);
        }
    }
}
