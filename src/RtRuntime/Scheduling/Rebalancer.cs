using System.Threading.Channels;
using RtRuntime.Cpus;
using RtRuntime.Interop;
using RtRuntime.Tasks;

namespace RtRuntime.Scheduling;

/// <summary>
/// The central rebalancer thread (<c>rt/balance</c>): woken by scheduling events through a channel,
/// and by a periodic tick as a safety net. Each pass pushes waiting migratable tasks to the allowed
/// CPU running the lowest priority, repairs migrate-disable pile-ups per the policy, and samples lost
/// bandwidth. It never runs user code and never moves a running task itself: it asks the task's CPU
/// (the stopper analogue). CPUs also pull for themselves, so this thread is the backstop, not the
/// fast path. While the runtime is quiet (no CPU ran a step, runs one, has anything queued or is going
/// offline, and no event came, since the last pass) the tick backs off, doubling up to
/// <see cref="IdleTickMaxNs"/> (the kernel's NO_HZ_IDLE stops an idle CPU's tick; see the loop for why
/// this one is only stretched).
/// </summary>
internal sealed class Rebalancer : IDisposable
{
    private readonly RtScheduler _scheduler;
    private readonly Cpu[] _cpus;
    private readonly Channel<BalanceReason> _events = Channel.CreateBounded<BalanceReason>(
        new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    private readonly Parker _parker = new();
    private readonly Thread _thread;
    private readonly long _tickNs;
    private readonly long[] _lostNs;
    private readonly long[] _eventCounts = new long[Enum.GetValues<BalanceReason>().Length];
    private long _lastSampleNs;
    private bool _losing;
    private readonly StallWatch[] _watch;
    private readonly long _stallNs;
    private readonly long _reschedWarnNs;
    private int _kicked;

    // The tick in force: _tickNs while anything happens, doubled at each quiet pass up to _idleTickMaxNs.
    private long _idleTickNs;
    private readonly long _idleTickMaxNs;

    // Each CPU's StepSeq at the last pass: a change says a step ran since (a quiet runtime ran none).
    private readonly long[] _seenSteps;
    private volatile bool _stop;

    /// <param name="scheduler">The runtime.</param>
    /// <param name="cpus">Its CPUs.</param>
    /// <param name="tickNs">The balance tick.</param>
    /// <param name="options">Where the stall and need_resched latency thresholds come from (the runtime's options).</param>
    public Rebalancer(RtScheduler scheduler, Cpu[] cpus, long tickNs, RtSchedulerOptions options)
    {
        _scheduler = scheduler;
        _cpus = cpus;
        _tickNs = tickNs;
        _lostNs = new long[cpus.Length];
        _watch = new StallWatch[cpus.Length];
        _stallNs = RtClock.ToNs(options.StallThreshold);
        _reschedWarnNs = RtClock.ToNs(options.ReschedLatencyWarn);
        _idleTickNs = tickNs;
        _idleTickMaxNs = Math.Max(tickNs, IdleTickMaxNs);
        _seenSteps = new long[cpus.Length];
        _thread = new Thread(Loop) { IsBackground = true, Name = "rt/balance" };
    }

    /// <summary>
    /// The longest the tick backs off to while the runtime is quiet (or <see cref="RtSchedulerOptions.BalanceTick"/>,
    /// if longer): 100 ms, ten passes a second. It bounds the rescue delay after a quiet spell: the first pass after work resumes
    /// (stall detection, a push off a CPU whose runner passes no point, lost-bandwidth sampling) may come
    /// this much later than with the plain tick. Events still wake the thread at once.
    /// </summary>
    internal const long IdleTickMaxNs = 100_000_000;

    /// <summary>Balance passes run so far.</summary>
    public long Passes;

    /// <summary>Lost bandwidth of CPU <paramref name="cpu"/> so far (sampled at every pass), in ns.</summary>
    public long LostNs(int cpu) => Volatile.Read(ref _lostNs[cpu]);

    /// <summary>Events received, by reason.</summary>
    public long EventCount(BalanceReason reason) => Volatile.Read(ref _eventCounts[(int)reason]);

    /// <summary>The OS thread id of <c>rt/balance</c> while it runs (Linux), else 0 (cleared once it has ended: the OS may reuse the id).</summary>
    internal volatile int OsThreadId;

    private CpuSet? _housekeeping;

    /// <summary>Starts the thread, confined to <paramref name="housekeeping"/> when there are such cores.</summary>
    public void Start(CpuSet? housekeeping)
    {
        _housekeeping = housekeeping;
        _lastSampleNs = RtClock.NowNs();
        _thread.UnsafeStart(); // no ExecutionContext: it runs no user code, and keeps the starter's AsyncLocal values alive for nothing
    }

    /// <summary>Sends an event and wakes the thread; coalesced while a wakeup is already pending.</summary>
    public void Notify(BalanceReason reason)
    {
        _events.Writer.TryWrite(reason);
        if (Interlocked.Exchange(ref _kicked, 1) == 0)
        {
            _parker.Unpark();
        }
    }

    private void Loop()
    {
        Housekeeping.Confine(_housekeeping, "rt/balance", _scheduler.Logger);
        if (OperatingSystem.IsLinux())
        {
            OsThreadId = LinuxInterop.GetTid();
            _ = LinuxInterop.SetTimerSlackOneNanosecond();
        }

        while (!_stop)
        {
            // While some CPU is losing bandwidth, sample every millisecond (or the tick, if shorter)
            // so the accounting follows the episode; when balanced, only the tick and events wake us.
            long period = _losing ? Math.Min(_tickNs, 1_000_000) : _idleTickNs;
            _parker.Park(RtClock.NowNs() + period, 0);
            Volatile.Write(ref _kicked, 0);
            bool events = false;
            while (_events.Reader.TryRead(out BalanceReason reason))
            {
                _eventCounts[(int)reason]++;
                events = true;
            }

            _scheduler.ApplyPostedBoosts();
            bool quiet = Pass() && !events;

            // NO_HZ_IDLE, stretched rather than stopped: a quiet runtime (every CPU idle at this pass and
            // none ran a step since the last one) doubles the tick, up to IdleTickMaxNs; anything else
            // restores it. Stopping it outright would need the first CPU that leaves idle to wake this
            // thread (the kernel restarts its tick on idle exit, a local timer write), and that futex wake
            // costs the woken task 10-60 us on these VMs (docs/balancing.md): the wakeup path pays nothing
            // here, and the price is the rescue delay of IdleTickMaxNs after a quiet spell.
            _idleTickNs = quiet ? Math.Min(_idleTickNs * 2, _idleTickMaxNs) : _tickNs;
        }
    }

    /// <summary>The tick in force (<see cref="RtSchedulerOptions.BalanceTick"/>, or longer while the runtime is quiet), in ns.</summary>
    internal long TickNs => Volatile.Read(ref _idleTickNs);

    /// <summary>One balance pass over every CPU; true when the runtime was quiet since the last one (see <see cref="IdleTickMaxNs"/>).</summary>
    private bool Pass()
    {
        Volatile.Write(ref Passes, Passes + 1);
        SampleLostBandwidth();
        long now = RtClock.NowNs();
        DetectStalls(now);
        bool quiet = !_losing;
        foreach (Cpu cpu in _cpus)
        {
            // Quiet: nothing runs, is queued or leaves here, and no step ran since the last pass (a
            // periodic task idles its CPU at most instants a tick samples, but its steps count).
            long steps = Volatile.Read(ref cpu.StepSeq);
            if (steps != _seenSteps[cpu.Id] || cpu.Running is not null || cpu.QueuedTop >= 0 || cpu.Dying)
            {
                _seenSteps[cpu.Id] = steps;
                quiet = false;
            }

            if (cpu.Dying)
            {
                cpu.PushQueuedOff(); // balance_push from here too: the dying CPU's own turn may be far off
            }

            // Work has waited a tick or more for this CPU's next scheduling point: its running task passes
            // none (a step without points, a preempt-disabled section), or the OS does not run its thread.
            long waiting = _watch[cpu.Id].WorkWaitingSinceNs;
            bool overdue = waiting != 0 && now - waiting >= _tickNs;
            if (overdue)
            {
                cpu.DrainWakeListFromElsewhere(); // listed wakeups onto its queue, where a push can see them
            }

            if (cpu.PushableTop < 0)
            {
                continue; // nothing queued there may move
            }

            _scheduler.Balancer.PushWaiting(cpu, pastRunner: overdue);
        }

        return quiet;
    }

    /// <summary>
    /// Lost bandwidth, sampled: since the last sample, each CPU that runs below (or idles under) a
    /// waiting task whose affinity allows it there is charged the interval, pinned waiters included
    /// (the bandwidth a migrate-disable pile-up loses). Sampling is per millisecond while any CPU loses.
    /// After a backed-off tick at most one plain tick is charged: the last pass found the runtime quiet,
    /// so a loss seen now began when work came back, not a backed-off tick ago.
    /// </summary>
    private void SampleLostBandwidth()
    {
        long now = RtClock.NowNs();
        long dt = now - _lastSampleNs;
        if (_idleTickNs > _tickNs && dt > _tickNs)
        {
            dt = _tickNs;
        }

        _lastSampleNs = now;
        bool losing = false;
        foreach (Cpu cpu in _cpus)
        {
            if (!cpu.Active)
            {
                continue;
            }

            int running = cpu.RunningPrio;
            foreach (Cpu other in _cpus)
            {
                if ((other == cpu ? other.QueuedTop : other.PushableTop) > running && Balancer.HasWaiterAllowedOn(other, cpu.Id, running))
                {
                    _lostNs[cpu.Id] += dt;
                    losing = true;
                    break;
                }
            }
        }

        _losing = losing;
    }

    /// <summary>
    /// Stall detection without a cost on the fast path: a CPU whose running task has not handed
    /// control back (same task, same step count) for half the threshold gets a probe bit, so the
    /// task's next preemption point reports back; if the step count still has not moved at the
    /// threshold, the task passed no preemption point: a stall. A need_resched seen pending across
    /// samples for longer than ReschedLatencyWarn is reported too (LATENCY_WARN).
    /// </summary>
    internal void DetectStalls(long now)
    {
        long gcPauseTicks = GC.GetTotalPauseDuration().Ticks; // once per pass: the GC pauses every CPU thread alike
        foreach (Cpu cpu in _cpus)
        {
            ref StallWatch w = ref _watch[cpu.Id];
            RtTask? running = cpu.Running;
            long seq = Volatile.Read(ref cpu.StepSeq);
            if (running is null || running != w.Task || seq != w.Seq || Volatile.Read(ref cpu.InStep) == 0)
            {
                // A new step restarts the stall watch, and so does a pass between steps: a CPU thread
                // held up after its task's step ended (kept off its core by the OS, or waiting for its
                // run-queue lock) still names that task as running, but no step of it is late (a loaded
                // machine had such a thread reported as a second stall). A need_resched episode ends
                // only with a switch (another task, or none): a preempt-disabled task whose points take
                // the slow path for "interrupt" work (the wake list, due timers) ends steps without
                // switching, and its need_resched stays pending (the kernel resets its LATENCY_WARN
                // clock in __schedule only).
                StallWatch was = w;
                w = new StallWatch { Task = running, Seq = seq, SinceNs = now, SinceCpuNs = running is null ? -1 : cpu.ThreadCpuTimeNs(), SinceGcPauseTicks = gcPauseTicks };
                if (running is not null && running == was.Task)
                {
                    w.ReschedSinceNs = was.ReschedSinceNs;
                    w.ReschedSinceCpuNs = was.ReschedSinceCpuNs;
                    w.ReschedReported = was.ReschedReported;
                }
            }
            else
            {
                long held = now - w.SinceNs;
                if (!w.Probed && held >= _stallNs / 2)
                {
                    cpu.SetPending(PendingWork.Probe);
                    w.Probed = true;

                }

                // Reported once at the threshold; then once more if the step turns out to wait on its own
                // posted work (the continuation it waits for is posted only when the inner operation
                // completes, which may come after the threshold).
                bool first = !w.Reported && held >= _stallNs;
                if (first || (w.Reported && !w.SyncOverAsyncReported && Volatile.Read(ref running.Posted) is not null))
                {
                    TimeSpan? ran = RanSince(cpu, w.SinceCpuNs);
                    var gcPause = TimeSpan.FromTicks(gcPauseTicks - w.SinceGcPauseTicks);
                    bool syncOverAsync = WaitsOnItsOwnPostedWork(cpu, running, held, ran, gcPause);
                    if (first || syncOverAsync)
                    {
                        w.Reported = true;
                        w.SyncOverAsyncReported = syncOverAsync;
                        _scheduler.ReportStall(new StallReport("stall", running.Name, running.Id, cpu.Id, TimeSpan.FromTicks(held / 100))
                        {
                            ThreadCpuTime = ran,
                            GcPauseTime = gcPause,
                            WaitsOnItsOwnPostedWork = syncOverAsync,
                        });
                    }
                }
            }

            // Work waiting for the CPU's next scheduling point in this step (a need_resched, or wakeups
            // listed for it): since when, for Pass (a new step starts the watch afresh, at 0).
            int pending = cpu.Pending;
            if (running is not null && (pending & (PendingWork.NeedResched | PendingWork.WakeList)) != 0)
            {
                if (w.WorkWaitingSinceNs == 0)
                {
                    w.WorkWaitingSinceNs = now;
                }
            }
            else
            {
                w.WorkWaitingSinceNs = 0;
            }

            if ((pending & PendingWork.NeedResched) != 0 && running is not null)
            {
                if (w.ReschedSinceNs == 0)
                {
                    w.ReschedSinceNs = now;
                    w.ReschedSinceCpuNs = cpu.ThreadCpuTimeNs();
                }
                else if (!w.ReschedReported && now - w.ReschedSinceNs >= _reschedWarnNs)
                {
                    w.ReschedReported = true;
                    _scheduler.ReportStall(new StallReport("resched-latency", running.Name, running.Id, cpu.Id, TimeSpan.FromTicks((now - w.ReschedSinceNs) / 100)) { ThreadCpuTime = RanSince(cpu, w.ReschedSinceCpuNs) });
                }
            }
            else
            {
                w.ReschedSinceNs = 0;
                w.ReschedReported = false;
            }
        }
    }

    /// <summary>The CPU time <paramref name="cpu"/>'s thread had since <paramref name="sinceCpuNs"/> (its CPU clock then), or null when the OS does not tell.</summary>
    private static TimeSpan? RanSince(Cpu cpu, long sinceCpuNs)
    {
        long cpuNs = sinceCpuNs < 0 ? -1 : cpu.ThreadCpuTimeNs();
        return cpuNs < 0 ? null : TimeSpan.FromTicks((cpuNs - sinceCpuNs) / 100);
    }

    /// <summary>
    /// A stalled step most likely waits synchronously on its own task's async work: work is posted to the
    /// task (continuations of its own awaits, which run only once the step ends), for most of the stall
    /// its thread neither ran nor was paused by the GC, and it sleeps now (blocked, not runnable: a
    /// thread the OS merely keeps off its core is runnable). Unknown, and so false, without the thread's
    /// CPU clock and state (Linux).
    /// </summary>
    private static bool WaitsOnItsOwnPostedWork(Cpu cpu, RtTask running, long heldNs, TimeSpan? ran, TimeSpan gcPause) =>
        Volatile.Read(ref running.Posted) is not null
        && ran is { } r && (heldNs - (r.Ticks * 100) - (gcPause.Ticks * 100)) * 2 > heldNs
        && SleepsOutsideAGc(cpu);

    /// <summary>
    /// The CPU thread sleeps now, and not because a garbage collection suspended it: a GC that begins while
    /// this thread reads the state (a read of /proc, in preemptive mode) shows a spinning CPU thread asleep,
    /// and this thread cannot go on after the read until that GC has ended and counted its pause. So a
    /// pause total that moved across the read means the state may be the GC's (a spinning task starved by
    /// the OS was reported as waiting on its own posted work in a full test run, whose other tests ran GCs).
    /// </summary>
    private static bool SleepsOutsideAGc(Cpu cpu)
    {
        TimeSpan before = GC.GetTotalPauseDuration();
        return cpu.ThreadSleeps() == true && GC.GetTotalPauseDuration() == before;
    }

    private struct StallWatch
    {
        public RtTask? Task;
        public long Seq;
        public long SinceNs;
        public long SinceCpuNs;
        public long SinceGcPauseTicks;
        public long ReschedSinceCpuNs;
        public bool Probed;
        public bool Reported;
        public bool SyncOverAsyncReported;
        public long ReschedSinceNs;
        public bool ReschedReported;
        public long WorkWaitingSinceNs;
    }

    public void Stop()
    {
        _stop = true;
        _parker.Unpark();
        _thread.Join();
        OsThreadId = 0; // the tid died with the thread; the OS may give it to another
    }

    public void Dispose() => _parker.Dispose();
}
