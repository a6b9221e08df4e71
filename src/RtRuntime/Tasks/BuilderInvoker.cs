using System.Threading.Tasks.Sources;

namespace RtRuntime.Tasks;

/// <summary>
/// The invoker .NET's async method builders hand every <see cref="IValueTaskSource"/>, with their state
/// machine box as its state (one delegate for the process, whatever the builder: <c>Task</c>,
/// <c>ValueTask</c> or pooling). Found once, by awaiting a source that records it, so that a task
/// suspended on a runtime source keeps just the box (<see cref="RtTask.Continuation"/>) and the
/// dispatcher runs it with this delegate; any other invoker is kept wrapped with its state.
/// </summary>
internal static class BuilderInvoker
{
    /// <summary>The builders' invoker; a delegate that matches no invoker if the builder did not hand the probe one.</summary>
    public static readonly Action<object?> Instance = Learn();

    private static Action<object?> Learn()
    {
        var probe = new Probe();
        _ = AwaitProbe(probe); // suspends at once, handing the probe the invoker; it never resumes, and the box is garbage
        return probe.Invoker ?? (static _ => throw new InvalidOperationException("The async method builder handed the runtime's probe no invoker."));
    }

    private static async Task AwaitProbe(Probe probe) => await new ValueTask(probe, 0);

    /// <summary>A source that never completes and records the invoker it is handed.</summary>
    private sealed class Probe : IValueTaskSource
    {
        public Action<object?>? Invoker { get; private set; }

        public ValueTaskSourceStatus GetStatus(short token) => ValueTaskSourceStatus.Pending;

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) => Invoker = continuation;

        public void GetResult(short token) => throw new InvalidOperationException("The probe never completes.");
    }
}
