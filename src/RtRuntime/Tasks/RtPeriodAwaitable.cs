using System.Runtime.CompilerServices;

namespace RtRuntime.Tasks;

/// <summary>
/// The awaitable of <see cref="RtPeriod.WaitAsync"/>: a sleep until the release, whose result is the
/// releases missed before it. Its awaiter is for <c>await</c>: its <c>IsCompleted</c> is not a poll of the deadline or the resource, and asking its result before awaiting it throws.
/// </summary>
public readonly struct RtPeriodAwaitable
{
    private readonly SleepAwaitable _sleep;
    private readonly RtPeriod _period;
    private readonly long _missed;

    internal RtPeriodAwaitable(SleepAwaitable sleep, RtPeriod period, long missed)
    {
        _sleep = sleep;
        _period = period;
        _missed = missed;
    }

    /// <summary>
    /// A completed awaiter when the release has already come (and nothing is pending on the CPU),
    /// else one that sleeps until it. Its result is the releases missed before this one (0 when the
    /// loop kept up); it throws <see cref="OperationCanceledException"/> when the task was cancelled
    /// while it waited.
    /// </summary>
    /// <exception cref="InvalidOperationException">Awaited off the task's CPU thread.</exception>
    public ValueTaskAwaiter<long> GetAwaiter()
    {
        if (!_sleep.TryPrepare(out short token))
        {
            return new ValueTask<long>(_missed).GetAwaiter();
        }

        _period.SuspendedMissed = _missed; // this wait's own count, for the period's source to return when it resumes
        return new ValueTask<long>(_period.Source, token).GetAwaiter();
    }
}
