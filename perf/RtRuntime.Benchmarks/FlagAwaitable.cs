using System.Runtime.CompilerServices;

namespace RtRuntime.Benchmarks;

/// <summary>The floor for a preemption point: a bare awaiter that reads one flag (never set here).</summary>
public readonly struct FlagAwaitable : ICriticalNotifyCompletion
{
    public static volatile int Flag;

    public FlagAwaitable GetAwaiter() => this;

    public bool IsCompleted => Flag == 0;

    public void GetResult()
    {
    }

    public void OnCompleted(Action continuation) => throw new InvalidOperationException("The flag is never set in this benchmark.");

    public void UnsafeOnCompleted(Action continuation) => throw new InvalidOperationException("The flag is never set in this benchmark.");
}
