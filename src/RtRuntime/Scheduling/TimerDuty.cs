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
    private long _kicks;

    public TimerDuty(Cpu[] cpus, HrTimerThread timer)
    {
        _cpus = cpus;
        _timer = timer;
    }

    /// <summary>Idle CPUs woken by <see cref="OnBusySleeper"/> (the holder to park again, or one to take the vacant duty); for tests.</summary>
    internal long Kicks => Volatile.Read(ref _kicks);

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
    /// parks towards a later deadline, or the duty is vacant, have an idle CPU park again towards it,
    /// once the sleeper is within the timer lead. A sleeper further away is left to <c>rt/timer</c>,
    /// which wakes at its lead and calls this again. Kicked at once, the idle CPU's futex wake was paid on
    /// the switch-in path of every task woken from idle while a later sleeper was armed on its CPU (a
    /// periodic task's release with a second task asleep there: 12–15 µs more at p10–p50 for a 2 ms
    /// period), and the kicked CPU, finding the busy one idle again, left the duty vacant for the next kick.
    /// </summary>
    public void OnBusySleeper(Cpu busy, long sleeper)
    {
        if (sleeper >= Volatile.Read(ref _deadline))
        {
            return;
        }

        long lead = _timer.LeadNs;
        if (lead > 0 && sleeper - lead > RtClock.NowNs())
        {
            return; // far: rt/timer, told of this deadline by NotifyBusy, calls again from its lead
        }

        if (Volatile.Read(ref _holder) is { } holder)
        {
            if (holder != busy)
            {
                Interlocked.Increment(ref _kicks);
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
                Interlocked.Increment(ref _kicks);
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
