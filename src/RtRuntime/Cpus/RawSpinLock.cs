using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace RtRuntime.Cpus;

/// <summary>
/// The run-queue lock: the kernel's <c>raw_spinlock_t</c>. Held for a few nanoseconds, never across
/// user code or a wait, so a test-and-test-and-set spin beats <see cref="Lock"/>, whose owner
/// tracking reads the thread id from TLS on every enter (measured with perf: 23% of a yield switch).
/// Spinners back off to <see cref="Thread.Yield"/> so a holder descheduled by the OS (more CPUs than
/// cores) can finish. Not reentrant: a holder that takes it again spins for good.
/// A spin that lasts <see cref="LockupAfter"/> on one acquisition is reported once to the lock's
/// <c>onLockup</c> (the kernel's CONFIG_DEBUG_SPINLOCK "BUG: spinlock lockup suspected"), which logs the
/// spinner's stack, and the spin goes on; the check is on the contended path only.
/// </summary>
internal sealed class RawSpinLock
{
    /// <summary>The default spin before a lockup is reported: the lock is held for nanoseconds, so seconds of spinning is a deadlock (or a holder the OS has not run for that long).</summary>
    public static readonly TimeSpan DefaultLockupAfter = TimeSpan.FromSeconds(2);

    private int _held;
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

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void EnterContended()
    {
        var spin = new SpinWait();
        long since = 0;
        while (true)
        {
            if (Volatile.Read(ref _held) == 0 && Interlocked.CompareExchange(ref _held, 1, 0) == 0)
            {
                return;
            }

            spin.SpinOnce(sleep1Threshold: -1);
            if (_onLockup is not null && (spin.Count & 63) == 0 && since >= 0)
            {
                since = CheckLockup(since);
            }
        }
    }

    /// <summary>Every 64 spins: the first look starts the clock; past <see cref="LockupAfter"/>, reports once (returns -1: no more looks).</summary>
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
