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
/// <para>
/// An idle CPU is a faster timer interrupt for busy CPUs than this thread: one idle CPU at a time
/// (the timer duty) parks no later than the busy CPUs' earliest sleeper deadline and fires their
/// expired timers itself when it wakes, so a sleeper that should run on an idle CPU (its own CPU runs
/// a higher or a migrate-disabled task) runs there after one timed wakeup, instead of after this
/// thread's wakeup, the busy CPU's next preemption point and a second wakeup of the idle CPU. This
/// thread stays armed for the same deadlines: it covers a duty CPU that became busy meanwhile.
/// </para>
/// </summary>
internal sealed class HrTimerThread : IDisposable
{
    private readonly Cpu[] _cpus;
    private readonly Parker _parker = new();
    private readonly Thread _thread;
    private long _target = long.MaxValue;
    private volatile bool _stop;

    // The timer duty: the idle CPU covering busy CPUs' sleepers (null: vacant), and the deadline it
    // parks towards (long.MaxValue when vacant, so the next busy CPU with a sleeper hands it on;
    // long.MinValue when no kick is wanted).
    private Cpu? _dutyCpu;
    private long _dutyDeadline = long.MaxValue;

    private readonly RtSchedulerOptions _options;
    private readonly long _spinNs;
    private readonly Microsoft.Extensions.Logging.ILogger _logger;

    public HrTimerThread(Cpu[] cpus, RtSchedulerOptions options, Microsoft.Extensions.Logging.ILogger logger)
    {
        _cpus = cpus;
        _options = options;
        _logger = logger;
        _spinNs = RtClock.ToNs(options.SpinBeforePark);
        _thread = new Thread(Loop) { IsBackground = true, Name = "rt/timer" };
    }

    public void Start() => _thread.Start();

    /// <summary>
    /// Called by a CPU that became busy or armed a slice: wakes this thread if the CPU's earliest
    /// deadline is before the one it sleeps towards (or it is rescanning), and the duty CPU if the
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
        if (deadline < Volatile.Read(ref _target))
        {
            _parker.Unpark();
        }

        // The duty CPU parks towards a later deadline, or the duty is vacant: have an idle CPU park
        // again, towards this one.
        if (sleeper < Volatile.Read(ref _dutyDeadline))
        {
            KickDuty(cpu);
        }
    }

    private void KickDuty(Cpu busy)
    {
        if (Volatile.Read(ref _dutyCpu) is { } duty)
        {
            if (duty != busy)
            {
                duty.Parker.Unpark();
            }

            return;
        }

        // Vacant (its holder went busy): hand it to an idle CPU, once; TakeDuty re-arms the kicks.
        Volatile.Write(ref _dutyDeadline, long.MinValue);
        foreach (Cpu cpu in _cpus)
        {
            if (cpu != busy && cpu.IsIdle && cpu.Active)
            {
                cpu.Parker.Unpark();
                return;
            }
        }
    }

    /// <summary>
    /// Called by an idle CPU about to park: takes the timer duty if no other CPU has it and returns the
    /// busy CPUs' earliest sleeper deadline (the duty CPU parks no later); <see cref="long.MaxValue"/>
    /// without the duty. Pair with <see cref="EndIdle"/>.
    /// </summary>
    public long TakeDuty(Cpu idle)
    {
        Cpu? holder = Volatile.Read(ref _dutyCpu);
        if (!idle.Active || (holder is not null && holder != idle))
        {
            return long.MaxValue; // another CPU has it (no locked instruction on the shared word then)
        }

        if (holder is null && EarliestBusySleeper(except: idle) == long.MaxValue)
        {
            // Nothing to cover: stay vacant without writing the shared words (CPUs that idle between
            // handoffs, as in a ping-pong, would otherwise move their line at every park). A busy CPU
            // that arms a sleeper later finds the duty vacant and kicks an idle CPU to take it; re-arm
            // that kick if it was spent on this CPU.
            if (Volatile.Read(ref _dutyDeadline) == long.MinValue)
            {
                Interlocked.CompareExchange(ref _dutyDeadline, long.MaxValue, long.MinValue);
            }

            return long.MaxValue;
        }

        if (holder is null && Interlocked.CompareExchange(ref _dutyCpu, idle, null) is not null)
        {
            return long.MaxValue;
        }

        // Publish "parks indefinitely" before reading the deadlines: a busy CPU that arms one after
        // this read sees that value and kicks (NotifyBusy writes the deadline, then reads this).
        Interlocked.Exchange(ref _dutyDeadline, long.MaxValue);
        long earliest = EarliestBusySleeper(except: idle);
        Interlocked.Exchange(ref _dutyDeadline, earliest);

        // This thread need not wake for what the duty covers: let it re-arm past it.
        if (earliest != long.MaxValue && Volatile.Read(ref _target) >= earliest)
        {
            _parker.Unpark();
        }

        return earliest;
    }

    /// <summary>
    /// An idle CPU stops idling: it gives the timer duty up if it had it, and wakes this thread if a
    /// busy CPU's sleeper it covered is now before this thread's deadline.
    /// </summary>
    public void EndIdle(Cpu idle)
    {
        if (Volatile.Read(ref _dutyCpu) != idle)
        {
            return;
        }

        long covered = Volatile.Read(ref _dutyDeadline);
        Volatile.Write(ref _dutyCpu, null);
        Interlocked.Exchange(ref _dutyDeadline, long.MaxValue);
        if (covered != long.MaxValue && covered != long.MinValue && EarliestBusySleeper(except: idle) < Volatile.Read(ref _target))
        {
            _parker.Unpark();
        }
    }

    private long EarliestBusySleeper(Cpu except)
    {
        long earliest = long.MaxValue;
        foreach (Cpu cpu in _cpus)
        {
            // The deadline first: it changes only when a CPU's timers do, while the idle flag moves
            // with every idle period.
            long deadline = cpu.NextDeadline;
            if (deadline < earliest && cpu != except && !cpu.IsIdle)
            {
                earliest = deadline;
            }
        }

        return earliest;
    }

    /// <summary>Sleeper deadlines from this one on are the duty CPU's to fire; long.MaxValue: none.</summary>
    private long CoveredByDuty()
    {
        if (Volatile.Read(ref _dutyCpu) is null)
        {
            return long.MaxValue;
        }

        long covered = Volatile.Read(ref _dutyDeadline);
        return covered == long.MinValue ? long.MaxValue : covered;
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
            long covered = CoveredByDuty();
            foreach (Cpu cpu in _cpus)
            {
                if (cpu.IsIdle)
                {
                    continue; // it fires its own timers when it wakes
                }

                long sleeper = cpu.NextDeadline;
                long deadline = Math.Min(sleeper >= covered ? long.MaxValue : sleeper, cpu.SliceDeadline);
                if (deadline <= now)
                {
                    cpu.SetPending(PendingWork.Timer);
                }
                else if (deadline < earliest)
                {
                    earliest = deadline;
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
