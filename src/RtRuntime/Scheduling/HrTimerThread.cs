using RtRuntime.Cpus;
using RtRuntime.Diagnostics;
using RtRuntime.Interop;

namespace RtRuntime.Scheduling;

/// <summary>
/// The hrtimer "interrupt" for busy CPUs (thread <c>rt/timer</c>). An idle CPU parks until its own
/// earliest sleeper deadline and fires its timers itself; a busy CPU cannot, so this thread sleeps
/// until the earliest deadline (sleepers or RR slice) among busy CPUs and then sets that CPU's
/// pending Timer bit: the running task's next preemption point fires the timers, and preempts if a
/// woken task outranks it. It never takes a run-queue lock.
/// While a CPU is idle it can be a faster interrupt than this thread (<see cref="TimerDuty"/>); this
/// thread skips the sleepers such a CPU covers.
/// </summary>
internal sealed class HrTimerThread : IDisposable
{
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
        _thread = new Thread(Loop) { IsBackground = true, Name = "rt/timer" };
        Duty = new TimerDuty(cpus, this);
    }

    /// <summary>The idle CPUs' share of this thread's work (see <see cref="TimerDuty"/>).</summary>
    public TimerDuty Duty { get; }

    public void Start() => _thread.Start();

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

    /// <summary>
    /// Called by a CPU that became busy or armed a slice: wakes this thread if the CPU's earliest
    /// deadline, less the timer lead, is before the one it sleeps towards (or it is rescanning), and the duty CPU if the
    /// CPU's earliest sleeper is before the deadline it parks towards (or the duty is vacant).
    /// </summary>
    public void NotifyBusy(Cpu cpu)
    {
        long sleeper = cpu.NextDeadline;
        long deadline = Math.Min(sleeper, cpu.SliceDeadline);
        if (deadline == long.MaxValue)
        {
            return;
        }

        Interlocked.MemoryBarrier();
        if (deadline - _leadNs < Volatile.Read(ref _target))
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
        if (OperatingSystem.IsLinux())
        {
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
            long covered = Duty.Covered;
            foreach (Cpu cpu in _cpus)
            {
                if (cpu.IsIdle)
                {
                    continue; // it fires its own timers when it wakes
                }

                long sleeper = cpu.NextDeadline;
                long slice = cpu.SliceDeadline;
                long deadline = Math.Min(sleeper >= covered ? long.MaxValue : sleeper, slice);
                if (deadline <= now)
                {
                    cpu.SetPending(PendingWork.Timer);
                }
                else if (deadline < earliest)
                {
                    earliest = deadline;
                }

                // The timer lead, for every deadline (the duty CPU's too): the CPU polls from here on.
                long near = Math.Min(sleeper, slice);
                if (_leadNs > 0 && near != long.MaxValue && near > now)
                {
                    if (near - _leadNs <= now)
                    {
                        if ((cpu.Pending & PendingWork.TimerSoon) == 0)
                        {
                            cpu.SetPending(PendingWork.TimerSoon);
                        }
                    }
                    else if (near - _leadNs < earliest)
                    {
                        earliest = near - _leadNs;
                    }
                }
            }

            Interlocked.Exchange(ref _target, earliest);
            _parker.Park(earliest, 0, earlyNs: _spinNs); // SpinBeforePark: spin up to the deadline
        }
    }

    public void Stop()
    {
        _stop = true;
        _parker.Unpark();
        _thread.Join();
    }

    public void Dispose() => _parker.Dispose();
}
