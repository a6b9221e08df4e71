using RtRuntime.Tasks;

namespace RtRuntime.Hosting.Tests;

/// <summary>Awaits foreign work that never completes: no preemption point cancels it, so a stop ends it (as cancelled) only once its cancel grace is over.</summary>
internal sealed class ForeignWaitWorker : RtWorker
{
    private readonly TaskCompletionSource _never = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected override async ValueTask ExecuteAsync(TaskContext context, CancellationToken stoppingToken)
    {
        Started.TrySetResult();
        await _never.Task;
    }
}
