using System.Runtime.CompilerServices;

namespace RtRuntime.Benchmarks;

/// <summary>
/// The floor for a preemption point: a bare awaiter that reads one flag (never set here). What it adds
/// to a loop is what any awaited check costs in a C# async method before a runtime does anything
/// (BenchmarkDotNet's PreemptionPointBenchmarks and perf/compare's section 4 both use it).
/// </summary>
public readonly struct FlagAwaitable : ICriticalNotifyCompletion
{
    public static volatile int Flag;

    public FlagAwaitable GetAwaiter() => this;

    public bool IsCompleted => Flag == 0;

    public void GetResult()
    {
    }

    public void OnCompleted(Action continuation) => throw new InvalidOperationException("The flag is never set: this awaitable measures the fast path only.");

    public void UnsafeOnCompleted(Action continuation) => throw new InvalidOperationException("The flag is never set: this awaitable measures the fast path only.");
}
