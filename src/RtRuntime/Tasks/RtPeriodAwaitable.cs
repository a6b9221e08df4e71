using System.Runtime.CompilerServices;

namespace RtRuntime.Tasks;

/// <summary>The awaitable of <see cref="RtPeriod.WaitAsync"/>: a sleep until the release, whose result is the releases missed before it.</summary>
public readonly struct RtPeriodAwaitable : ICriticalNotifyCompletion
{
    private readonly SleepAwaitable _sleep;
    private readonly long _missed;

    internal RtPeriodAwaitable(SleepAwaitable sleep, long missed)
    {
        _sleep = sleep;
        _missed = missed;
    }

    /// <summary>Returns this awaitable.</summary>
    public RtPeriodAwaitable GetAwaiter() => this;

    /// <summary>True when the release has already come (and nothing is pending on the CPU).</summary>
    public bool IsCompleted => _sleep.IsCompleted;

    /// <summary>The releases missed before this one (0 when the loop kept up).</summary>
    /// <exception cref="OperationCanceledException">The task was cancelled while it waited.</exception>
    public long GetResult()
    {
        _sleep.GetResult();
        return _missed;
    }

    /// <inheritdoc/>
    public void OnCompleted(Action continuation) => _sleep.OnCompleted(continuation);

    /// <inheritdoc/>
    public void UnsafeOnCompleted(Action continuation) => _sleep.UnsafeOnCompleted(continuation);
}
