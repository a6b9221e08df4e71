using System.Threading.Tasks.Sources;

namespace RtRuntime.Tasks;

/// <summary>
/// The ValueTask source of an <see cref="RtPeriod"/>'s waits that suspend: the sleep's
/// (<see cref="HrTimerSleeper"/>), with that wait's missed count as its result. One per period, and
/// not the period itself: a public source could be awaited off a CPU, where the builder's call of
/// <see cref="OnCompleted"/> throws on the ThreadPool and ends the process.
/// </summary>
internal sealed class RtPeriodSource(RtPeriod period) : IValueTaskSource<long>
{
    public ValueTaskSourceStatus GetStatus(short token) => HrTimerSleeper.Instance.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        HrTimerSleeper.Instance.OnCompleted(continuation, state, token, flags);

    public long GetResult(short token)
    {
        HrTimerSleeper.Instance.GetResult(token);
        return period.SuspendedMissed;
    }
}
