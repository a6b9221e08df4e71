using RtRuntime.Cpus;

namespace RtRuntime.Diagnostics;

/// <summary>
/// The kernel's <c>struct ratelimit_state</c> and <c>___ratelimit()</c> (lib/ratelimit.c), which
/// <c>printk_ratelimit()</c> uses: at most <c>burst</c> messages per <c>interval</c>. The messages
/// over the limit are counted, and the first message let through after the window has passed reports
/// how many were suppressed ("callbacks suppressed"). Used off the dispatch path only (it takes a lock).
/// </summary>
internal sealed class RateLimit
{
    private readonly Lock _lock = new();
    private readonly long _intervalNs;
    private readonly int _burst;
    private readonly Func<long> _clock;
    private bool _begun;
    private long _beginNs;
    private int _printed;
    private int _missed;

    /// <summary>A limit of <paramref name="burst"/> messages per <paramref name="interval"/>; a zero interval lets every message through.</summary>
    /// <param name="interval">The window (the kernel's <c>rs->interval</c>); zero: no limit.</param>
    /// <param name="burst">Messages allowed per window (the kernel's <c>rs->burst</c>); at least 1.</param>
    /// <param name="clock">Monotonic nanoseconds (default: <see cref="RtClock.NowNs"/>); tests pass their own.</param>
    public RateLimit(TimeSpan interval, int burst, Func<long>? clock = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(interval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        _intervalNs = RtClock.ToNs(interval);
        _burst = burst;
        _clock = clock ?? RtClock.NowNs;
    }

    /// <summary>
    /// Whether this message may be printed. When it may and an earlier window suppressed messages,
    /// <paramref name="suppressed"/> is their count (to report before this message), else 0.
    /// </summary>
    /// <param name="suppressed">The messages the passed window suppressed, reported once.</param>
    public bool Allow(out int suppressed)
    {
        suppressed = 0;
        if (_intervalNs == 0)
        {
            return true;
        }

        using (_lock.EnterScope())
        {
            long now = _clock();
            if (!_begun)
            {
                _begun = true;
                _beginNs = now;
            }

            if (now - _beginNs > _intervalNs)
            {
                suppressed = _missed;
                _missed = 0;
                _beginNs = now;
                _printed = 0;
            }

            if (_printed < _burst)
            {
                _printed++;
                return true;
            }

            _missed++; // reported with the first message let through after this window
            return false;
        }
    }
}
