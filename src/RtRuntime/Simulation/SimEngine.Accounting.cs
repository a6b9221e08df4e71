namespace RtRuntime.Simulation;

/// <summary>Figures: run/wait/interference/lock wait/boost per task, busy/idle/lost per CPU, accumulated as virtual time advances.</summary>
internal sealed partial class SimEngine
{
    private bool _anyLost;

    /// <summary>Charges the interval since the last event to every CPU and every running or waiting task.</summary>
    private void AdvanceTo(long time)
    {
        long dt = time - _now;
        if (dt <= 0)
        {
            return;
        }

        foreach (SimCpu cpu in _cpus)
        {
            if (cpu.Running is { } r)
            {
                cpu.Figures.BusyUs += dt;
                r.Figures.RunUs += dt;
                if (r.Prio > r.NormalPrio)
                {
                    r.Figures.BoostedUs += dt;
                }
            }
            else
            {
                cpu.Figures.IdleUs += dt;
            }

            if (cpu.Lost)
            {
                cpu.Figures.LostUs += dt;
            }

            int running = cpu.RunningPrio;
            foreach (SimTask t in cpu.Queue)
            {
                t.Figures.WaitUs += dt;
                if (t.MigrationDisabled > 0 && running > t.Prio)
                {
                    t.Figures.InterferenceUs += dt;
                }
            }
        }

        foreach (SimMutex m in AllLocks)
        {
            foreach (SimTask w in m.Waiters.Waiters)
            {
                w.Figures.LockWaitUs += dt;
            }
        }

        _now = time;
    }

    /// <summary>
    /// Lost bandwidth after an event: an active CPU is losing while it idles or runs priority p and a task of
    /// priority above p whose requested mask (cpus_mask) includes it waits in another CPU's queue.
    /// </summary>
    private void UpdateLost()
    {
        if (_queuedCount == 0)
        {
            if (_anyLost)
            {
                foreach (SimCpu cpu in _cpus)
                {
                    cpu.Lost = false;
                }

                _anyLost = false;
            }

            return;
        }

        _anyLost = false;
        foreach (SimCpu cpu in _cpus)
        {
            bool lost = false;
            if (cpu.Active)
            {
                int running = cpu.RunningPrio;
                foreach (SimCpu other in _cpus)
                {
                    if (other == cpu)
                    {
                        continue;
                    }

                    foreach (SimTask w in other.Queue)
                    {
                        if (w.Prio <= running)
                        {
                            break;
                        }

                        if (w.Mask.Contains(cpu.Id))
                        {
                            lost = true;
                            break;
                        }
                    }

                    if (lost)
                    {
                        break;
                    }
                }
            }

            cpu.Lost = lost;
            _anyLost |= lost;
        }
    }
}
