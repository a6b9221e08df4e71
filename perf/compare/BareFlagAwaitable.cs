namespace RtRuntime.Compare;

/// <summary>
/// The floor for an awaited preemption point: an awaitable whose fast path reads one static flag
/// that is never set. What it adds to a loop is what any awaited check costs in a C# async method
/// (the loop's locals live in the state machine), before a runtime does anything.
/// </summary>
internal readonly struct BareFlagAwaitable : System.Runtime.CompilerServices.ICriticalNotifyCompletion
{
    public static volatile int Flag;

    public BareFlagAwaitable GetAwaiter() => this;

    public bool IsCompleted => Flag == 0;

    public void GetResult()
    {
    }

    public void OnCompleted(Action continuation) => throw new InvalidOperationException("The flag is never set in this comparison.");

    public void UnsafeOnCompleted(Action continuation) => throw new InvalidOperationException("The flag is never set in this comparison.");
}
