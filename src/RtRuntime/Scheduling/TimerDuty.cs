using RtRuntime.Cpus;

namespace RtRuntime.Scheduling;

/// <summary>
/// The timer duty: an idle CPU is a faster timer interrupt for busy CPUs than the <c>rt/timer</c>
/// thread (<see cref="HrTimerThread"/>). One idle CPU at a time, and only while some busy CPU has a
/// sleeper, parks no later than the busy CPUs' earliest sleeper deadline and fires their expired
/// timers itself when it wakes (<c>Cpu.FireBusyCpusTimers</c>). A sleeper that should run on an idle
/// CPU (its own CPU runs a higher or a migrate-disabled task) then runs there after one timed wakeup,
/// instead of after the timer thread's wakeup, the busy CPU's next preemption point and a futex wake
/// of the idle CPU. Mainline has nothing like it: its timer interrupts reach busy CPUs at once.
/// <para>
/// A busy CPU that arms an earlier sleeper kicks the duty CPU to park again; while the duty is vacant,
/// the next busy CPU with a sleeper hands it to an idle CPU. The timer thread skips the sleepers the
/// duty covers and is woken to re-arm when the duty ends with some still pending. All of it is a
/// latency path: the timer thread remains the guarantee when a race leaves a sleeper uncovered.
/// </para>
/// </summary>
internal sealed class TimerDuty
{
    private readonly Cpu[] _cpus;
    private readonly HrTimerThread _timer;

    // The idle CPU holding the duty (null: vacant), and the deadline it parks towards: long.MaxValue
    // while vacant, so that the next busy CPU with a sleeper hands the duty on; long.MinValue once
    // that kick was sent (no more until an idle CPU looks again).
    private Cpu? _holder;
    private long _deadline = long.MaxValue;

    public TimerDuty(Cpu[] cpus, HrTimerThread timer)
    {
        _cpus = cpus;
        _timer = timer;
    }

    /// <summary>Sleeper deadlines from this one on are the duty CPU's to fire; long.MaxValue: none.</summary>
    public long Covered
    {
        get
        {
            if (Volatile.Read(ref _holder) is null)
            {
                return long.MaxValue;
            }

            long covered = Volatile.Read(ref _deadline);
            return covered == long.MinValue ? long.MaxValue : covered;
        }
    }

    /// <summary>
    /// A busy CPU's earliest sleeper is <paramref name="sleeper"/> (after a full fence): if the duty CPU
    /// parks towards a later deadline, or the duty is vacant, have an idle CPU park again towards it.
    /// </summary>
    public void OnBusySleeper(Cpu busy, long sleeper)
    {
        if (sleeper >= Volatile.Read(ref _deadline))
        {
            return;
        }

        if (Volatile.Read(ref _holder) is { } holder)
        {
            if (holder != busy)
            {
                holder.Parker.Unpark();
            }

            return;
        }

        // Vacant (its holder went busy): hand it to an idle CPU, once; Take re-arms the kicks.
        Volatile.Write(ref _deadline, long.MinValue);
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
    /// Called by an idle CPU about to park: takes the duty if no other CPU has it and some busy CPU has
    /// a sleeper, and returns the busy CPUs' earliest sleeper deadline (the CPU parks no later);
    /// <see cref="long.MaxValue"/> without the duty. Pair with <see cref="EndIdle"/>.
    /// </summary>
    public long Take(Cpu idle)
    {
        Cpu? holder = Volatile.Read(ref _holder);
        if (!idle.Active || (holder is not null && holder != idle))
        {
            return long.MaxValue; // another CPU has it (no locked instruction on the shared word then)
        }

        if (holder is null && EarliestBusySleeper(except: idle) == long.MaxValue)
        {
            // Nothing to cover: stay vacant without writing the shared words (CPUs that idle between
            // handoffs, as in a ping-pong, would otherwise move their line at every park); re-arm
            // the vacancy kick if it was spent on this CPU.
            if (Volatile.Read(ref _deadline) == long.MinValue)
            {
                Interlocked.CompareExchange(ref _deadline, long.MaxValue, long.MinValue);
            }

            return long.MaxValue;
        }

        if (holder is null && Interlocked.CompareExchange(ref _holder, idle, null) is not null)
        {
            return long.MaxValue;
        }

        // Publish "parks indefinitely" before reading the deadlines: a busy CPU that arms one after
        // this read sees that value and kicks (it writes its deadline, fences, then reads this).
        Interlocked.Exchange(ref _deadline, long.MaxValue);
        long earliest = EarliestBusySleeper(except: idle);
        Interlocked.Exchange(ref _deadline, earliest);
        _timer.RearmIfArmedFor(earliest); // the timer thread need not wake for what the duty covers
        return earliest;
    }

    /// <summary>
    /// An idle CPU stops idling: it gives the duty up if it had it, and has the timer thread re-arm if a
    /// busy CPU's sleeper the duty covered is now before the timer thread's deadline.
    /// </summary>
    public void EndIdle(Cpu idle)
    {
        if (Volatile.Read(ref _holder) != idle)
        {
            return;
        }

        long covered = Volatile.Read(ref _deadline);
        Volatile.Write(ref _holder, null);
        Interlocked.Exchange(ref _deadline, long.MaxValue);
        if (covered != long.MaxValue && covered != long.MinValue)
        {
            _timer.RearmIfLaterThan(EarliestBusySleeper(except: idle));
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
}
