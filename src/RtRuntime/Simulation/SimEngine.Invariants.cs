using RtRuntime.Scheduling;

namespace RtRuntime.Simulation;

/// <summary>
/// The invariants, checked after every event (pinned-never-moves and preempt-disabled-never-switches are
/// checked where a task changes CPU or is switched out, inside the event):
/// conservation (each live task in exactly one place), and N-highest between CPUs that are settled
/// (see docs/simulator.md for the precise definition).
/// </summary>
internal sealed partial class SimEngine
{
    private const int MaxViolations = 1000;
    private int[]? _seen;

    private void Violation(SimViolationKind kind, string message)
    {
        var violation = new SimViolation(_now, _eventCount, kind, message);
        if (_options.ThrowOnViolation)
        {
            throw new SimInvariantException(violation);
        }

        if (_violations.Count < MaxViolations)
        {
            _violations.Add(violation);
        }
    }

    private void CheckInvariants()
    {
        CheckConservation();
        if (_mutexes.Count > 0 || _localLocks.Count > 0)
        {
            CheckInheritance();
        }

        CheckHighest();
    }

    /// <summary>No task lost or duplicated: a live task is in exactly one place, a dead or unborn one in none.</summary>
    private void CheckConservation()
    {
        int[] seen = _seen ??= new int[_tasks.Length];
        Array.Clear(seen);
        foreach (SimCpu cpu in _cpus)
        {
            if (cpu.Running is { } r)
            {
                seen[r.Id]++;
            }

            foreach (SimTask t in cpu.Queue)
            {
                seen[t.Id]++;
            }
        }

        foreach (SimTask t in _sleeping)
        {
            seen[t.Id]++;
        }

        foreach (SimWaitQueue q in _events.Values)
        {
            foreach (SimTask t in q.Waiters)
            {
                seen[t.Id]++;
            }
        }

        foreach (SimMutex m in AllLocks)
        {
            foreach (SimTask t in m.Waiters.Waiters)
            {
                if (t.PendingLock != m)
                {
                    seen[t.Id]++; // a waiter robbed of m and not run since is where it runs or is queued
                }
            }
        }

        foreach (SimTask t in _tasks)
        {
            if (t.AffinityWaiters is { } waiters)
            {
                foreach (SimTask w in waiters)
                {
                    if (w.State == SimTaskState.AffinityWait && w.AffinityTarget == t)
                    {
                        seen[w.Id]++;
                    }
                }
            }
        }

        if (_ghost is not null)
        {
            seen[_ghost.Id]++;
        }

        foreach (SimTask t in _tasks)
        {
            int expected = t.IsLive ? 1 : 0;
            if (seen[t.Id] != expected)
            {
                Violation(SimViolationKind.TaskLostOrDuplicated, $"{t.Name} ({t.State}) found in {seen[t.Id]} places, expected {expected}");
            }
        }
    }

    /// <summary>
    /// Priority inheritance: an RtMutex's waiters are blocked on it in priority order, a free mutex has
    /// none, and its owner is live and runs at least at its top waiter's priority, unless the boost
    /// waits for the owner's next preemption point on another CPU (then that CPU has stop work pending,
    /// which brings the point to its slow path). A local lock's instance has its holder and waiters
    /// pinned on its CPU. A task's loan is its locks' top waiter's priority, exactly: none outlives its waiter.
    /// </summary>
    private void CheckInheritance()
    {
        foreach (SimTask t in _tasks)
        {
            if (t.BoostPending && (t.State != SimTaskState.Running || !_cpus[t.Cpu].StopPending))
            {
                Violation(SimViolationKind.PriorityNotInherited, $"{t.Name}({t.Prio}, {t.State}) has a boost to {t.EffectivePrio} due that no preemption point will take");
                return;
            }
        }

        foreach (SimMutex m in AllLocks)
        {
            List<SimTask> waiters = m.Waiters.Waiters;
            for (int i = 0; i < waiters.Count; i++)
            {
                SimTask w = waiters[i];
                if ((w.State != SimTaskState.Waiting && w.PendingLock != m) || w.BlockedOn != m || (i > 0 && waiters[i - 1].Prio < w.Prio) || (m.Cpu >= 0 && (w.Cpu != m.Cpu || w.MigrationDisabled == 0)))
                {
                    Violation(SimViolationKind.PriorityNotInherited, $"{w.Name}({w.Prio}, {w.State}) is listed on {m.Name} at {i} of {waiters.Count} out of place");
                    return;
                }
            }

            if (m.Owner is not { } owner)
            {
                if (waiters.Count > 0)
                {
                    Violation(SimViolationKind.PriorityNotInherited, $"{m.Name} is free while {waiters[0].Name} waits for it");
                }

                continue;
            }

            if (!owner.IsLive || owner.BlockedOn == m || (m.Cpu >= 0 && (owner.Cpu != m.Cpu || owner.MigrationDisabled == 0)))
            {
                Violation(SimViolationKind.PriorityNotInherited, $"{m.Name} is held by {owner.Name} ({owner.State})");
            }
            else if (waiters.Count > 0 && owner.Prio < waiters[0].Prio && !owner.BoostPending)
            {
                Violation(SimViolationKind.PriorityNotInherited, $"{owner.Name}({owner.Prio}) holds {m.Name} while {waiters[0].Name}({waiters[0].Prio}) waits for it, with no boost due");
            }
        }

        foreach (SimTask t in _tasks)
        {
            // The loan itself is kept exact at every change (it is applied to the priority where the task
            // is held, by the rules above): a loan that outlives its waiter (one that left, timed out or
            // ended) is a boost that never drops.
            if (t.IsLive && t.MutexBoost != TopWaiterPrio(t))
            {
                Violation(SimViolationKind.PriorityNotInherited, $"{t.Name} is lent {t.MutexBoost} while the top waiter of the locks it holds is at {TopWaiterPrio(t)}");
                return;
            }
        }
    }

    /// <summary>
    /// Settled: no switch pending on the CPU (need_resched: a strictly higher priority queued than running,
    /// an idle CPU with queued work included) and no stop work pending: everything decided for it has
    /// been carried out. A CPU that is not settled is about to run something else, so what waits on it,
    /// and what it runs now, are left out of the N-highest check until it is. A raised-behind switch
    /// (<see cref="SimCpu.RunsBehindQueued"/>) is not counted: it swaps two tasks of one priority (no
    /// priority the check compares changes), and the raise pushes the task ahead if it could run lower
    /// elsewhere; counting it would only hide the CPU's waiters (docs/simulator.md, invariant 4).
    /// </summary>
    private static bool IsSettled(SimCpu cpu) => !cpu.StopPending && !BalanceRules.ShouldPreempt(cpu.QueuedTop, cpu.RunningPrio);

    /// <summary>
    /// N-highest within effective affinity: no task waiting on a settled CPU could run on a settled active CPU
    /// of its cpus_ptr that runs a lower priority (or idles). WorkConserving also promises that no settled
    /// idle CPU could take the migratable runner of a settled CPU where a pinned task waits (the pile-up would
    /// have been repaired). The check used to run only when every CPU was settled,
    /// so one CPU with a switch pending (a preempt-disabled runner with a higher task queued) hid every
    /// other CPU's state from it for as long as the section lasted.
    /// </summary>
    private void CheckHighest()
    {
        if (_queuedCount == 0)
        {
            return;
        }

        foreach (SimCpu q in _cpus)
        {
            if (!IsSettled(q))
            {
                continue;
            }

            foreach (SimTask w in q.Queue)
            {
                if (w.MigrationDisabled > 0)
                {
                    if (_scenario.Policy == BalancePolicy.WorkConserving && q.Running is { MigrationDisabled: 0 } runner)
                    {
                        CheckPileUpRepaired(q, w, runner);
                    }

                    continue;
                }

                for (int c = w.Mask.First; c >= 0 && c < _cpus.Length; c = w.Mask.Next(c))
                {
                    SimCpu cpu = _cpus[c];
                    if (cpu.Active && cpu.RunningPrio < w.Prio && IsSettled(cpu))
                    {
                        Violation(SimViolationKind.NotHighest, $"{w.Name}({w.Prio}) waits on cpu{q.Id} while cpu{c} runs {(cpu.Running is { } r ? $"{r.Name}({r.Prio})" : "idle")}");
                        return;
                    }
                }
            }
        }
    }

    private void CheckPileUpRepaired(SimCpu q, SimTask pinned, SimTask runner)
    {
        foreach (SimCpu c in _cpus)
        {
            if (c != q && c.Active && c.Running is null && c.Queue.Count == 0 && pinned.Mask.Contains(c.Id) && runner.Mask.Contains(c.Id))
            {
                Violation(SimViolationKind.NotHighest, $"pile-up on cpu{q.Id}: {pinned.Name}({pinned.Prio}) pinned under {runner.Name}({runner.Prio}) while cpu{c.Id} idles (WorkConserving)");
                return;
            }
        }
    }
}
