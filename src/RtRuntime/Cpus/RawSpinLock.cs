using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace RtRuntime.Cpus;

/// <summary>
/// The run-queue lock: the kernel's <c>raw_spinlock_t</c>. Held for a few nanoseconds, never across
/// user code or a wait, so a test-and-test-and-set spin beats <see cref="Lock"/>, whose owner
/// tracking reads the thread id from TLS on every enter (measured with perf: 23% of a yield switch).
/// Not reentrant: a holder that takes it again spins for good.
/// <para>
/// Unlike the kernel's, a holder here can be descheduled by the OS inside its few nanoseconds (the
/// kernel's spinner has preemption disabled; a thread cannot). A spinner first spins, then backs off to
/// <see cref="Thread.Yield"/>, which lets a holder of its own OS class on its core finish; after
/// <see cref="SpinsBeforeNap"/> rounds it naps (<see cref="FirstNapNs"/>, doubling to
/// <see cref="MaxNapNs"/>, a FUTEX_WAIT on the lock word that returns at once if it was released): a
/// <c>sched_yield</c> never gives the core to a thread the OS ranks lower, so a SCHED_FIFO CPU thread
/// (<see cref="CpuThreadPolicy.Fifo"/>) that only yielded kept a SCHED_OTHER holder (a thread spawning
/// or waking a task, <c>rt/balance</c>, a hotplug caller) off its core until the kernel's RT throttling
/// let that class run (50 ms a second), and a holder below the spinner's FIFO priority for good. The
/// kernel's adaptive rt_mutex (PREEMPT_RT's spinlock_t) likewise spins only while the owner runs, then sleeps.
/// The uncontended path is one compare-exchange, as before; the nap is on the contended path only.
/// </para>
/// A spin that lasts <see cref="LockupAfter"/> on one acquisition is reported once to the lock's
/// <c>onLockup</c> (the kernel's CONFIG_DEBUG_SPINLOCK "BUG: spinlock lockup suspected"), which logs the
/// spinner's stack, and the spin goes on; the check is on the contended path only.
/// </summary>
internal sealed class RawSpinLock
{
    /// <summary>The default spin before a lockup is reported: the lock is held for nanoseconds, so seconds of spinning is a deadlock (or a holder the OS has not run for that long).</summary>
    public static readonly TimeSpan DefaultLockupAfter = TimeSpan.FromSeconds(2);

    private int _held;
    private int _contenders; // threads in EnterContended now (diagnostics): written on the contended path only
    private readonly Action<TimeSpan>? _onLockup;
    private readonly long _lockupTicks;

    /// <summary>A lock whose lockups are not reported (a wait queue's own).</summary>
    public RawSpinLock()
    {
    }

    /// <summary>A lock that reports a spin of <paramref name="lockupAfter"/> (default <see cref="DefaultLockupAfter"/>) on one acquisition to <paramref name="onLockup"/>, once, on the spinning thread.</summary>
    public RawSpinLock(Action<TimeSpan> onLockup, TimeSpan? lockupAfter = null)
    {
        _onLockup = onLockup;
        _lockupTicks = (long)((lockupAfter ?? DefaultLockupAfter).TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>How long one acquisition spins before it is reported (null: never).</summary>
    public TimeSpan? LockupAfter => _onLockup is null ? null : TimeSpan.FromSeconds((double)_lockupTicks / Stopwatch.Frequency);

    /// <summary>Acquires the lock for the scope of a <c>using</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Scope EnterScope()
    {
        if (Interlocked.CompareExchange(ref _held, 1, 0) != 0)
        {
            EnterContended();
        }

        return new Scope(this);
    }

    /// <summary>True while some thread holds the lock (diagnostics only).</summary>
    public bool IsHeld => Volatile.Read(ref _held) != 0;

    /// <summary>
    /// Threads spinning or napping for the lock now (diagnostics and tests: a napping spinner is in a
    /// futex wait, which its managed <see cref="Thread.ThreadState"/> does not show).
    /// </summary>
    public int Contenders => Volatile.Read(ref _contenders);

    /// <summary>
    /// Spin rounds (<see cref="SpinWait.SpinOnce(int)"/>: ten busy spins, then yields) before a spinner
    /// naps: a few tens of µs while the yields return at once, far longer than a running holder keeps the lock.
    /// </summary>
    internal const int SpinsBeforeNap = 40;

    /// <summary>The first nap of a spinner past <see cref="SpinsBeforeNap"/>: long enough for a descheduled holder to be run and finish.</summary>
    internal const long FirstNapNs = 50_000;

    /// <summary>The longest nap: a holder kept off its core for long (other threads' load) is looked for again at least this often.</summary>
    internal const long MaxNapNs = 1_000_000;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void EnterContended()
    {
        Interlocked.Increment(ref _contenders);
        try
        {
            SpinUntilTaken();
        }
        finally
        {
            Interlocked.Decrement(ref _contenders);
        }
    }

    private void SpinUntilTaken()
    {
        var spin = new SpinWait();
        int rounds = 0;
        long napNs = FirstNapNs;
        long since = 0;
        while (true)
        {
            if (Volatile.Read(ref _held) == 0 && Interlocked.CompareExchange(ref _held, 1, 0) == 0)
            {
                return;
            }

            if (rounds < SpinsBeforeNap)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }
            else
            {
                Nap(napNs);
                napNs = Math.Min(2 * napNs, MaxNapNs);
            }

            rounds++;
            if (_onLockup is not null && (rounds & 63) == 0 && since >= 0)
            {
                since = CheckLockup(since);
            }
        }
    }

    /// <summary>
    /// Gives up the core for up to <paramref name="ns"/>, so that a holder the OS ranks below this
    /// thread (a SCHED_OTHER one under a SCHED_FIFO spinner) can run: a FUTEX_WAIT on the lock word
    /// while it is held (nobody wakes it: the timeout ends it; a release before the call returns at once).
    /// </summary>
    private unsafe void Nap(long ns)
    {
        if (OperatingSystem.IsLinux())
        {
            fixed (int* word = &_held)
            {
                Interop.LinuxInterop.FutexWait(word, 1, ns);
            }
        }
        else
        {
            Thread.Sleep(1);
        }
    }

    /// <summary>Every 64 rounds: the first look starts the clock; past <see cref="LockupAfter"/>, reports once (returns -1: no more looks).</summary>
    private long CheckLockup(long since)
    {
        long now = Stopwatch.GetTimestamp();
        if (since == 0)
        {
            return now;
        }

        if (now - since < _lockupTicks)
        {
            return since;
        }

        _onLockup!(Stopwatch.GetElapsedTime(since));
        return -1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Exit() => Volatile.Write(ref _held, 0);

    /// <summary>The held lock; disposing releases it.</summary>
    public readonly ref struct Scope
    {
        private readonly RawSpinLock _lock;

        internal Scope(RawSpinLock owner) => _lock = owner;

        /// <summary>Releases the lock.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Dispose() => _lock.Exit();
    }
}
