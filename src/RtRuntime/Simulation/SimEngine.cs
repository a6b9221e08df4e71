using RtRuntime.Cpus;

namespace RtRuntime.Simulation;

/// <summary>
/// The simulator's state and event loop: one thread, virtual time in µs, a priority queue of events.
/// Every consequence of an event (switches on idle CPUs, pushes, pulls, the scripts of tasks that were
/// switched in) is carried out before the next event; then lost bandwidth is re-evaluated and the
/// invariants are checked. Split by component: Script (task steps), Dispatch (schedule, switch,
/// preemption points, wakeups), Balance (push/pull, stopper, tick), Affinity, Invariants, Accounting.
/// </summary>
internal sealed partial class SimEngine
{
    private readonly SimScenario _scenario;
    private readonly SimOptions _options;
    private readonly long _seed;
    private readonly SimCpu[] _cpus;
    private readonly SimTask[] _tasks;
    private readonly Dictionary<string, SimTask> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SimWaitQueue> _events = new(StringComparer.Ordinal);
    private readonly PriorityQueue<SimEvent, SimEventOrder> _queue = new();
    private readonly Queue<SimTask> _toContinue = new();
    private readonly Queue<SimCpu> _kicked = new();
    private readonly HashSet<SimTask> _sleeping = [];
    private readonly List<SimTraceEvent> _trace = [];
    private readonly List<SimViolation> _violations = [];
    private readonly List<string> _bugs = [];
    private long _seq;
    private long _now;
    private long _eventCount;
    private long _schedEvents;
    private int _queuedCount;
    private int _liveNonTick;
    private long _pushes;
    private long _pulls;

    // Scratch for PullRounds (source ids and their pushable tops).
    private readonly int[] _pullIds;
    private readonly int[] _pullTops;
    private long _runningPushes;
    private long _ticks;
    private bool _faultUsed;
    private bool _rebalance;
    private bool _selfAffinityWarned;

    public SimEngine(SimScenario scenario, long seed, SimOptions options)
    {
        _scenario = scenario;
        _seed = seed;
        _options = options;
        _cpus = new SimCpu[scenario.Cpus];
        _pullIds = new int[scenario.Cpus];
        _pullTops = new int[scenario.Cpus];
        for (int i = 0; i < _cpus.Length; i++)
        {
            _cpus[i] = new SimCpu(i, !scenario.InactiveCpus.Contains(i));
        }

        CpuSet all = CpuSet.Range(0, scenario.Cpus);
        _tasks = new SimTask[scenario.Tasks.Count];
        for (int i = 0; i < _tasks.Length; i++)
        {
            SimTaskSpec spec = scenario.Tasks[i];
            var steps = new List<SimStep>();
            Flatten(spec.Steps, steps);
            var task = new SimTask(i, spec, [.. steps], spec.Affinity.IsEmpty ? all : spec.Affinity);
            task.Figures.Affinity = task.Mask;
            _tasks[i] = task;
            _byName.Add(task.Name, task);
        }
    }

    private static void Flatten(IReadOnlyList<SimStep> steps, List<SimStep> into)
    {
        foreach (SimStep s in steps)
        {
            if (s.Kind == SimStepKind.Repeat)
            {
                for (int i = 0; i < s.Count; i++)
                {
                    Flatten(s.Body, into);
                }
            }
            else
            {
                into.Add(s);
            }
        }
    }

    public SimResult Run()
    {
        foreach (SimTask t in _tasks)
        {
            Post(t.SpawnUs, SimEventType.Spawn, t);
        }

        if (_scenario.TickUs > 0 && _tasks.Length > 0)
        {
            Post(_scenario.TickUs, SimEventType.Tick, null);
        }

        bool completed = true, reachedEnd = false;
        long end = _scenario.EndUs > 0 ? _scenario.EndUs : long.MaxValue;
        while (_queue.TryPeek(out SimEvent ev, out SimEventOrder order))
        {
            if (IsDisarmedTimeout(ev))
            {
                _queue.Dequeue(); // counted out when it was disarmed
                continue;
            }

            if (order.Time > end)
            {
                completed = false;
                reachedEnd = true;
                break;
            }

            if (_eventCount >= _options.MaxEvents || _options.CancellationToken.IsCancellationRequested)
            {
                completed = false;
                break;
            }

            _queue.Dequeue();
            AdvanceTo(order.Time);
            _eventCount++;
            Handle(ev);
            Settle();
            UpdateLost();
            if (_options.CheckInvariants)
            {
                CheckInvariants();
            }

            _options.AfterEvent?.Invoke(this);
        }

        if (reachedEnd && _now < _scenario.EndUs)
        {
            AdvanceTo(_scenario.EndUs); // nothing happens before the next event, which lies beyond endUs (not after an event-limit stop: events were left before it)
        }

        return BuildResult(completed);
    }

    /// <summary>Virtual time now (for test probes).</summary>
    public long Now => _now;

    /// <summary>The requested mask (cpus_mask, what /proc prints) of a task.</summary>
    public CpuSet ReportedAffinity(string task) => _byName[task].Mask;

    /// <summary>The effective mask (cpus_ptr) of a task: its CPU alone while pinned and switched out.</summary>
    public CpuSet EffectiveAffinity(string task) => _byName[task].EffectiveMask;

    /// <summary>rq->nr_pinned of a CPU.</summary>
    public int NrPinned(int cpu) => _cpus[cpu].NrPinned;

    /// <summary>Queues an event at <paramref name="time"/>.</summary>
    /// <param name="time">Virtual µs.</param>
    /// <param name="type">What happens.</param>
    /// <param name="task">The task it happens to, or null (a tick).</param>
    /// <param name="afterOthers">Order the event after every other event of the same instant (seeded or not).</param>
    /// <param name="gen">For a SegmentEnd, the task's <see cref="SimTask.SegmentGen"/> it belongs to; for a LockTimeout, its <see cref="SimTask.LockWaitGen"/>.</param>
    private void Post(long time, SimEventType type, SimTask? task, bool afterOthers = false, int gen = 0)
    {
        long seq = _seq++;
        long key = afterOthers ? long.MaxValue : _seed == 0 ? 0 : SimRandom.Mix(_seed, seq);
        _queue.Enqueue(new SimEvent(type, task, gen), new SimEventOrder(time, key, seq));
        if (type != SimEventType.Tick)
        {
            _liveNonTick++;
        }
    }

    /// <summary>
    /// The time of the next balance tick. NO_HZ: with no task queued on any CPU, a balance tick does nothing (it pushes queued tasks) until
    /// some other event queues one, so the ticks before the next event are skipped rather than handled
    /// one by one: a scenario whose only pending event is a long sleep (10^11 µs) no longer spends its
    /// event limit on 10^8 empty ticks. The last tick before that event (and before endUs) is still
    /// posted and handled, and the skipped ones are counted as they would have been (in
    /// <see cref="SimResult.Ticks"/> and in the event sequence numbers that order seeded runs), so the
    /// trace and every figure but <see cref="SimResult.Events"/> come out as with every tick handled.
    /// </summary>
    private long NextTickTime()
    {
        long tick = _scenario.TickUs;
        if (_queuedCount != 0 || !_queue.TryPeek(out _, out SimEventOrder next))
        {
            return _now + tick;
        }

        // Ticks strictly before the next event and at or before endUs are the ones that would fire first.
        long bound = _scenario.EndUs > 0 && _scenario.EndUs < next.Time ? _scenario.EndUs + 1 : next.Time;
        long before = (bound - _now - 1) / tick; // ticks at _now + j·tick with j = 1..before lie before bound
        if (before < 2)
        {
            return _now + tick;
        }

        long skipped = before - 1; // the last one is posted and handled
        _ticks += skipped;
        _seq += skipped; // the sequence numbers their posts would have taken
        return _now + (before * tick); // AdvanceTo accounts the whole stretch at once: nothing changes in it
    }

    private void Handle(SimEvent ev)
    {
        if (ev.Type != SimEventType.Tick)
        {
            _liveNonTick--;
        }

        switch (ev.Type)
        {
            case SimEventType.Spawn:
                Activate(ev.Task!, spawn: true);
                break;
            case SimEventType.SegmentEnd:
                if (ev.Gen == ev.Task!.SegmentGen)
                {
                    EndSegment(ev.Task);
                }

                break;
            case SimEventType.SleepEnd:
                _sleeping.Remove(ev.Task!);
                Wake(ev.Task!);
                break;
            case SimEventType.LockTimeout:
                ev.Task!.LockTimeoutArmed = false; // only an armed one of the current wait gets here (IsDisarmedTimeout)
                LockTimedOut(ev.Task);
                break;
            default:
                Tick();
                if (_liveNonTick > 0 || _toContinue.Count > 0)
                {
                    Post(NextTickTime(), SimEventType.Tick, null);
                }

                break;
        }
    }

    /// <summary>
    /// Carries out everything the event made due at this instant: idle CPUs that received work
    /// schedule, switched-in tasks run their instantaneous steps, the rebalancer re-pushes when a busy
    /// CPU's top priority dropped (a queued task left it), and idle CPUs pull (the threaded runtime's
    /// idle CPUs poll for pullable work; here they pull once per event), until nothing changes.
    /// </summary>
    private void Settle()
    {
        while (true)
        {
            while (_kicked.Count > 0 || _toContinue.Count > 0)
            {
                if (_kicked.TryDequeue(out SimCpu? cpu))
                {
                    if (cpu.Running is null)
                    {
                        ScheduleCpu(cpu);
                    }

                    continue;
                }

                SimTask task = _toContinue.Dequeue();
                if (task.State == SimTaskState.Running)
                {
                    Continue(task);
                }
            }

            if (_rebalance)
            {
                _rebalance = false;
                if (_queuedCount > 0)
                {
                    foreach (SimCpu cpu in _cpus)
                    {
                        PushQueuedTasks(cpu);
                    }
                }

                continue;
            }

            if (_queuedCount == 0 || !IdlePulls())
            {
                if (_spinningCpus > 0)
                {
                    CutTimerSpins();
                }

                return;
            }
        }
    }

    private void Emit(int cpu, SimTask? task, SimEventKind kind, int otherCpu = -1, string? other = null)
    {
        _schedEvents++;
        if (_options.RecordTrace)
        {
            _trace.Add(new SimTraceEvent(_now, cpu, task?.Name, kind, otherCpu, other));
        }
    }

    private void Bug(SimTask task, string message)
    {
        _bugs.Add($"{_now}us {task.Name}: {message}");
        Emit(task.Cpu, task, SimEventKind.Bug);
    }

    private bool TakeFault(SimFault fault)
    {
        if (_faultUsed || _options.InjectFault != fault)
        {
            return false;
        }

        _faultUsed = true;
        return true;
    }

    private SimResult BuildResult(bool completed)
    {
        long lost = 0;
        foreach (SimCpu c in _cpus)
        {
            lost += c.Figures.LostUs;
        }

        foreach (SimTask t in _tasks)
        {
            t.Figures.Affinity = t.Mask;
            if (t.SpinStartUs >= 0)
            {
                EndTimerSpin(t); // the run ended (endUs) during a spin: count it up to now
            }
        }

        return new SimResult
        {
            Seed = _seed,
            EndUs = _now,
            Completed = completed,
            Events = _eventCount,
            SchedulingEvents = _schedEvents,
            Trace = _trace,
            Tasks = [.. _tasks.Select(t => t.Figures)],
            Cpus = [.. _cpus.Select(c => c.Figures)],
            Violations = _violations,
            Bugs = _bugs,
            LostUs = lost,
            Pushes = _pushes,
            Pulls = _pulls,
            RunningPushes = _runningPushes,
            Ticks = _ticks,
            StuckTasks = [.. _tasks.Where(t => t.IsLive).Select(t => t.Name)],
        };
    }
}
