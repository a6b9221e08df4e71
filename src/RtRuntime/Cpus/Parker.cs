using System.Diagnostics;
using System.Runtime.InteropServices;
using RtRuntime.Interop;

namespace RtRuntime.Cpus;

/// <summary>
/// Parks one thread with a nanosecond timeout and lets any thread unpark it: a permit, as in
/// Java's LockSupport. On Linux this is a private futex on a word of its own cache line (the .NET
/// wait primitives round timeouts to milliseconds, and a periodic task must wake every 100 µs);
/// elsewhere a <see cref="ManualResetEventSlim"/> with millisecond timeouts.
/// </summary>
internal sealed unsafe class Parker : IDisposable
{
    private const int Empty = 0;
    private const int Permit = 1;
    private const int Parked = -1;

    // The futex word: Empty, Permit, or Parked while the owner sleeps in FUTEX_WAIT.
    private readonly int* _word;
    private readonly ManualResetEventSlim? _event;

    // Work the owner also watches while it spins, and tests again once its word says Parked and
    // before it sleeps: a waker that publishes such work and then sees the word not Parked may skip
    // Unpark (see IsAsleep).
    private readonly Func<bool>? _hasWork;

    // 1 once the word is freed (by Dispose or the finalizer, whichever comes first).
    private int _freed;

    // Words allocated and not yet freed, over the process (for tests).
    private static long s_liveWords;

    /// <summary>
    /// How late, in ns, the last <see cref="Park"/> that slept towards a time came back from that sleep
    /// by its timeout (the OS's timer wakeup latency), or −1 when it ended otherwise (a permit, work,
    /// no sleep, or no time): what <see cref="TimerEarlyWake"/> learns from. Only the owner uses it.
    /// </summary>
    public long SleepLateNs { get; private set; } = -1;

    // The next object (another CPU's) starts past this: SleepLateNs is written at every park.
    private readonly CacheLinePadding _after;

    /// <param name="hasWork">Work that ends a park without a permit (tested while spinning and right before sleeping), or null.</param>
    public Parker(Func<bool>? hasWork = null)
    {
        _hasWork = hasWork;
        _word = (int*)NativeMemory.AlignedAlloc(64, 64);
        *_word = Empty;
        Interlocked.Increment(ref s_liveWords);
        if (!OperatingSystem.IsLinux())
        {
            _event = new ManualResetEventSlim(false, 0);
        }
    }

    /// <summary>
    /// True once the owner has marked itself asleep (it will not notice work without <see cref="Unpark"/>).
    /// A waker that published the parker's watched work (a full fence after it) and reads false needs no
    /// Unpark: the owner is spinning, and sees the work, or is about to sleep, and tests the work again
    /// after marking itself asleep.
    /// </summary>
    public bool IsAsleep => Volatile.Read(ref *_word) == Parked;

    /// <summary>
    /// Blocks the owner until <see cref="Unpark"/>, until the watched work appears, or until <paramref name="deadlineNs"/>
    /// (<see cref="RtClock"/> time; <see cref="long.MaxValue"/>: none). Spins first for up to
    /// <paramref name="spinNs"/>; with <paramref name="earlyNs"/> &gt; 0 it then sleeps only until that
    /// long before the deadline and spins up to it. Returns at once if a permit is pending. A timed sleep
    /// that the OS ends early without a permit (a stale futex wake, a signal) sleeps again, so an early
    /// wake never turns into a long spin; an untimed one may return spuriously.
    /// </summary>
    public void Park(long deadlineNs, long spinNs, long earlyNs = 0)
    {
        if (SleepLateNs != -1)
        {
            SleepLateNs = -1; // written only when it changes: the handoff path parks without sleeping
        }

        // Read before the exchange: a locked instruction takes the line exclusive even when it fails,
        // and every waker reads this word (IsAsleep), so a park that found no permit would cost each
        // wakeup a cache-line transfer.
        if (Volatile.Read(ref *_word) == Permit && Interlocked.CompareExchange(ref *_word, Empty, Permit) == Permit)
        {
            return;
        }

        if (spinNs > 0)
        {
            long spinUntil = Math.Min(RtClock.NowNs() + spinNs, deadlineNs);
            for (int i = 1; ; i++)
            {
                if (Volatile.Read(ref *_word) == Permit)
                {
                    Volatile.Write(ref *_word, Empty);
                    return;
                }

                if (_hasWork is { } hasWork && hasWork())
                {
                    return;
                }

                // The permit is tested every ~40 ns (Thread.SpinWait(1) here; SpinWait(8) is ~330 ns,
                // half of which every poll-caught wakeup waited), the clock every fourth turn.
                if ((i & 3) == 0 && RtClock.NowNs() >= spinUntil)
                {
                    break;
                }

                Thread.SpinWait(1);
            }
        }

        if (earlyNs > 0 && deadlineNs != long.MaxValue)
        {
            // Sleep only until shortly before the deadline, then spin up to it.
            if (NsUntil(deadlineNs) <= earlyNs)
            {
                SpinUntil(deadlineNs);
                Interlocked.Exchange(ref *_word, Empty); // a permit that ended the spin is this park's
                return;
            }

            bool slept = SleepUntil(deadlineNs - earlyNs);
            if (Volatile.Read(ref *_word) != Permit)
            {
                if (slept)
                {
                    NoteSleepEnd(deadlineNs - earlyNs);
                }

                // Awake now: a waker that reads the word not Parked sets its permit without a futex
                // wake (a syscall the spin does not need); the spin sees the permit and the watched work.
                Interlocked.CompareExchange(ref *_word, Empty, Parked);
                SpinUntil(deadlineNs);
            }

            Interlocked.Exchange(ref *_word, Empty);
            return;
        }

        bool sleptTimed = SleepUntil(deadlineNs);
        if (Interlocked.Exchange(ref *_word, Empty) == Parked && sleptTimed && deadlineNs != long.MaxValue)
        {
            NoteSleepEnd(deadlineNs); // still Parked: no permit ended the sleep
        }
    }

    private void NoteSleepEnd(long targetNs)
    {
        long late = RtClock.NowNs() - targetNs;
        SleepLateNs = late >= 0 ? late : -1; // earlier than asked: a spurious return, not a timeout
    }

    /// <summary>Gives the owner a permit and wakes it if it sleeps.</summary>
    public void Unpark()
    {
        int previous = Interlocked.Exchange(ref *_word, Permit);
        if (previous == Parked)
        {
            if (OperatingSystem.IsLinux())
            {
                LinuxInterop.FutexWake(_word);
            }
            else
            {
                _event!.Set();
            }
        }
    }

    // The time left until a deadline, 0 once it has passed: not deadlineNs − now, which overflows into
    // ~292 years for a deadline long past (before long.MinValue + now, as a sleep to long.MinValue armed
    // on a busy CPU hands the timer duty's park).
    private static long NsUntil(long deadlineNs)
    {
        long now = RtClock.NowNs();
        return deadlineNs <= now ? 0 : deadlineNs - now;
    }

    private void SpinUntil(long deadlineNs)
    {
        while (RtClock.NowNs() < deadlineNs && Volatile.Read(ref *_word) != Permit && _hasWork?.Invoke() != true)
        {
            Thread.SpinWait(1);
        }
    }

    // True when the owner actually waited in the OS (a futex or event wait, timed with a timeout > 0 or untimed).
    private bool SleepUntil(long deadlineNs)
    {
        if (Interlocked.CompareExchange(ref *_word, Parked, Empty) != Empty)
        {
            return false; // a permit arrived meanwhile
        }

        if (_hasWork?.Invoke() == true)
        {
            // Work published before a waker saw the word Parked: it did not unpark, so do not sleep.
            Interlocked.CompareExchange(ref *_word, Empty, Parked);
            return false;
        }

        long timeout = deadlineNs == long.MaxValue ? -1 : NsUntil(deadlineNs);
        if (timeout == 0)
        {
            return false;
        }

        while (true)
        {
            WaitInOs(timeout);
            if (Volatile.Read(ref *_word) != Parked || deadlineNs == long.MaxValue)
            {
                return true;
            }

            // Still Parked before the time: a spurious return (a futex wake or an event Set meant for an
            // earlier park, EINTR). Sleep again for what is left.
            timeout = NsUntil(deadlineNs);
            if (timeout == 0)
            {
                return true;
            }
        }
    }

    // One OS wait while the word is Parked: a futex on Linux (ns timeout), else the event (rounded up to ms); −1: no timeout.
    private void WaitInOs(long timeoutNs)
    {
        if (OperatingSystem.IsLinux())
        {
            LinuxInterop.FutexWait(_word, Parked, timeoutNs);
            return;
        }

        _event!.Wait(timeoutNs < 0 ? -1 : (int)Math.Min(int.MaxValue, (timeoutNs + 999_999) / 1_000_000));
        _event.Reset();
    }

    /// <summary>Futex words allocated by parkers and not yet freed, over the process (for tests).</summary>
    internal static long LiveWords => Interlocked.Read(ref s_liveWords);

    /// <summary>
    /// Frees the word at once. Only for a parker no thread can reach any more (a start that failed,
    /// after joining its threads): a stop does not dispose the CPUs', <c>rt/timer</c>'s or
    /// <c>rt/balance</c>'s parkers, since a CPU thread the stop abandoned (still running a task that
    /// never awaits) may unpark them later, and an unpark of a freed word writes freed memory. Those
    /// words are freed by the finalizer, once the runtime is garbage.
    /// </summary>
    public void Dispose()
    {
        _event?.Dispose();
        FreeWord();
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// The word of a parker nothing references any more (a stopped runtime's): nothing can park on it
    /// or unpark it. Without it, every runtime started and stopped left its CPU count plus two words
    /// allocated for as long as the process lived.
    /// </summary>
    ~Parker() => FreeWord();

    private void FreeWord()
    {
        if (Interlocked.Exchange(ref _freed, 1) == 0)
        {
            NativeMemory.AlignedFree(_word);
            Interlocked.Decrement(ref s_liveWords);
        }
    }
}
