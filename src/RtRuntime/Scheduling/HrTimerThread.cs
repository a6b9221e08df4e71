using RtRuntime.Cpus;
using RtRuntime.Diagnostics;
using RtRuntime.Interop;

namespace RtRuntime.Scheduling;

/// <summary>
/// The hrtimer "interrupt" for busy CPUs (thread <c>rt/timer</c>). An idle CPU parks until its own
/// earliest sleeper deadline and fires its timers itself; a busy CPU cannot, so this thread sleeps
/// until the earliest deadline (sleepers or RR slice) among busy CPUs and then sets that CPU's
/// pending Timer bit: the running task's next preemption point fires the timers, and preempts if a
/// woken task outranks it. It never takes a run-queue lock. From the timer lead before a deadline the
/// CPU's points poll the clock and fire it themselves; the thread then wakes only to back them up,
/// <see cref="DefaultPollBackstopNs"/> after the deadline (<see cref="TimerRules.ForBusyCpu"/>).
/// While a CPU is idle it can be a faster interrupt than this thread (<see cref="TimerDuty"/>); this
/// thread skips the sleepers such a CPU covers.
/// </summary>
internal sealed class HrTimerThread : IDisposable
{
    /// <summary>
    /// How long after the deadline of a CPU that polls its timers this thread flags it anyway (see
    /// <see cref="TimerRules.ForBusyCpu"/>): longer than what this thread's wakeup takes from a core here
    /// (about 16 µs), so that a wakeup on the polling CPU's core lands after the woken task's switch-in.
    /// A countdown of points that overshot the deadline then fires late by this plus the OS's wakeup
    /// latency of this thread (it does not spin to a backstop).
    /// </summary>
    internal const long DefaultPollBackstopNs = 25_000;

    // DefaultPollBackstopNs, or RtSchedulerOptions.PollBackstop (tests only).
    private readonly long _backstopNs;

    private readonly Cpu[] _cpus;
    private readonly Parker _parker = new();
    private readonly Thread _thread;
    private long _target = long.MaxValue;
    private volatile bool _stop;

    private readonly RtSchedulerOptions _options;
    private readonly long _spinNs;
    private readonly long _leadNs;
    private readonly Microsoft.Extensions.Logging.ILogger _logger;

    public HrTimerThread(Cpu[] cpus, RtSchedulerOptions options, Microsoft.Extensions.Logging.ILogger logger)
    {
        _cpus = cpus;
        _options = options;
        _logger = logger;
        _spinNs = RtClock.ToNs(options.SpinBeforePark);
        _leadNs = RtClock.ToNs(options.TimerLead);
        _backstopNs = options.PollBackstop is { } backstop ? RtClock.ToNs(backstop) : DefaultPollBackstopNs;
        _thread = new Thread(Loop) { IsBackground = true, Name = "rt/timer" };
        Duty = new TimerDuty(cpus, this);
    }

    /// <summary>The idle CPUs' share of this thread's work (see <see cref="TimerDuty"/>).</summary>
    public TimerDuty Duty { get; }

    /// <summary>The OS thread id of <c>rt/timer</c> while it runs (Linux), else 0 (cleared once it has ended: the OS may reuse the id).</summary>
    internal volatile int OsThreadId;

    /// <summary>Starts the thread, confined to <paramref name="housekeeping"/> when there are such cores.</summary>
    public void Start(CpuSet? housekeeping)
    {
        _housekeeping = housekeeping;
        _thread.UnsafeStart(); // no ExecutionContext: it runs no user code, and keeps the starter's AsyncLocal values alive for nothing
    }

    private CpuSet? _housekeeping;

    /// <summary>
    /// True when <paramref name="cpu"/>'s earliest deadline (sleeper or RR slice) is within the timer
    /// lead of <paramref name="now"/> (<see cref="RtSchedulerOptions.TimerLead"/>), or passed: from then
    /// on its preemption points poll the timer (<see cref="PendingWork.TimerSoon"/>), so it fires at the
    /// first point after the deadline (or at the deadline, anticipated), whatever the OS's delay in waking
    /// this thread or the duty CPU.
    /// </summary>
    public bool IsNear(Cpu cpu, long now)
    {
        long deadline = cpu.EarliestTimer;
        return deadline != long.MaxValue && deadline - _leadNs <= now;
    }

    /// <summary>True when busy CPUs poll their timers from a lead (<see cref="RtSchedulerOptions.TimerLead"/> &gt; 0).</summary>
    public bool HasLead => _leadNs > 0;

    /// <summary>The timer lead in ns (<see cref="RtSchedulerOptions.TimerLead"/>); 0: off.</summary>
    public long LeadNs => _leadNs;

    /// <summary>The time this thread is parked towards (long.MaxValue: untimed); tests read it to know it sleeps.</summary>
    internal long TargetNs => Volatile.Read(ref _target);

    /// <summary>
    /// Called by a CPU that became busy or armed a slice (or by hotplug for the CPU that adopted
    /// timers): wakes this thread if the CPU's earliest deadline, less the timer lead, is before the one
    /// it sleeps towards (or it is rescanning), and the duty CPU if the CPU's earliest sleeper is before
    /// the deadline it parks towards (or the duty is vacant). A CPU already polling its timers, told by
    /// its own thread (<paramref name="polling"/>: its TimerSoon bit, which only that thread clears),
    /// needs this thread only at its backstop (<see cref="TimerRules.ForBusyCpu"/>): a CPU that keeps
    /// polling from one deadline to the next (a period within the lead) no longer wakes it at each.
    /// </summary>
    public void NotifyBusy(Cpu cpu, bool polling = false)
    {
        long sleeper = cpu.NextDeadline;
        long deadline = Math.Min(sleeper, cpu.SliceDeadline);
        if (deadline == long.MaxValue)
        {
            return;
        }

        Interlocked.MemoryBarrier();
        long wake = polling && _leadNs > 0 ? deadline + _backstopNs : deadline - _leadNs;
        if (wake < Volatile.Read(ref _target))
        {
            _parker.Unpark();
        }

        Duty.OnBusySleeper(cpu, sleeper);
    }

    /// <summary>Wakes this thread to re-arm if it sleeps towards <paramref name="deadline"/> or later (the duty covers it).</summary>
    internal void RearmIfArmedFor(long deadline)
    {
        if (deadline != long.MaxValue && Volatile.Read(ref _target) >= deadline)
        {
            _parker.Unpark();
        }
    }

    /// <summary>Wakes this thread to re-arm if it sleeps towards a deadline later than <paramref name="deadline"/>.</summary>
    internal void RearmIfLaterThan(long deadline)
    {
        if (deadline < Volatile.Read(ref _target))
        {
            _parker.Unpark();
        }
    }

    private void Loop()
    {
        Housekeeping.Confine(_housekeeping, "rt/timer", _logger);
        if (OperatingSystem.IsLinux())
        {
            OsThreadId = LinuxInterop.GetTid();
            _ = LinuxInterop.SetTimerSlackOneNanosecond();

            // The timer "interrupt" must outrank the CPU threads it interrupts: with SCHED_FIFO CPU
            // threads it runs one priority above them; otherwise at TimerThreadNice (at least as
            // favoured as nice CPU threads). Best effort: the CPU threads already got theirs.
            (string what, int errno) = _options.CpuThreadPolicy switch
            {
                CpuThreadPolicy.Fifo => ("SCHED_FIFO " + Math.Min(99, _options.CpuThreadPriority + 1), LinuxInterop.SetFifo(Math.Min(99, _options.CpuThreadPriority + 1))),
                CpuThreadPolicy.Nice => ("nice " + Math.Min(_options.TimerThreadNice, _options.CpuThreadPriority), LinuxInterop.SetNice(Math.Min(_options.TimerThreadNice, _options.CpuThreadPriority))),
                _ when _options.TimerThreadNice != 0 => ("nice " + _options.TimerThreadNice, LinuxInterop.SetNice(_options.TimerThreadNice)),
                _ => (string.Empty, 0),
            };
            if (errno != 0)
            {
                RtLog.TimerThreadPolicyRefused(_logger, what, errno);
            }
        }

        while (!_stop)
        {
            // Rescanning: any deadline armed from now on sees a target of MaxValue and kicks us.
            Interlocked.Exchange(ref _target, long.MaxValue);
            long now = RtClock.NowNs();
            long earliest = long.MaxValue;
            bool spin = false;
            long covered = Duty.Covered;
            foreach (Cpu cpu in _cpus)
            {
                if (cpu.IsIdle)
                {
                    continue; // it fires its own timers when it wakes
                }

                long sleeper = cpu.NextDeadline;
                long slice = cpu.SliceDeadline;
                BusyCpuTimer timer = TimerRules.ForBusyCpu(now, Math.Min(sleeper, slice), Math.Min(sleeper >= covered ? long.MaxValue : sleeper, slice), _leadNs, _backstopNs);
                if (timer.Poll && (cpu.Pending & PendingWork.TimerSoon) == 0)
                {
                    cpu.SetPending(PendingWork.TimerSoon); // the timer lead (the duty CPU's deadlines too): the CPU polls from here on
                }

                if (timer.Fire)
                {
                    cpu.SetPending(PendingWork.Timer);
                }

                if (_leadNs > 0 && sleeper != long.MaxValue && sleeper - _leadNs <= now)
                {
                    Duty.OnBusySleeper(cpu, sleeper); // the duty's kick the busy CPU left to this lead (far when it became busy)
                }

                if (timer.Next < earliest)
                {
                    earliest = timer.Next;
                    spin = timer.Spin;
                }
            }

            Interlocked.Exchange(ref _target, earliest);
            _parker.Park(earliest, 0, earlyNs: spin ? _spinNs : 0); // SpinBeforePark: spin up to a deadline (not to a lead or a backstop)
        }
    }

    public void Stop()
    {
        _stop = true;
        _parker.Unpark();
        _thread.Join();
        OsThreadId = 0; // the tid died with the thread; the OS may give it to another
    }

    /// <summary>
    /// Frees the parker at once: for a runtime whose start failed. A stop does not call it: a CPU thread
    /// the stop abandoned may still notify this thread (<see cref="NotifyBusy"/>); the parker's finalizer
    /// frees it once the runtime is garbage.
    /// </summary>
    public void Dispose() => _parker.Dispose();
}
