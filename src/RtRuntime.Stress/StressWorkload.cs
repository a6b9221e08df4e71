using RtRuntime.Tasks;

namespace RtRuntime.Stress;

/// <summary>
/// A user's own periodic task body, run under a scenario's load: the harness wakes it every
/// <see cref="Period"/> at absolute deadlines, records its wakeup latency in a histogram labelled
/// <c>workload:Name</c>, and calls <see cref="Body"/>. A body that throws is a violation
/// (<see cref="Invariants.ExpectedOutcome"/>).
/// </summary>
/// <param name="Name">The workload's name.</param>
/// <param name="Priority">Its FIFO priority (1..99).</param>
/// <param name="Period">Its period (100 µs..10 s).</param>
/// <param name="Body">What it does each period; it runs as an RtRuntime task body (guards, points, sleeps allowed).</param>
public sealed record StressWorkload(string Name, int Priority, TimeSpan Period, Func<TaskContext, ValueTask> Body);
