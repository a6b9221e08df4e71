using RtRuntime.Tasks;

namespace RtRuntime.Hosting.Tests;

/// <summary>A worker owning a resource (a device, a socket) it releases in Dispose; records whether its task had ended then.</summary>
internal sealed class DisposableWorker : RtWorker, IDisposable
{
    public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource<bool> TaskEndedAtDispose { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Dispose() => TaskEndedAtDispose.TrySetResult(Task is { IsCompleted: true });

    protected override async ValueTask ExecuteAsync(TaskContext context, CancellationToken stoppingToken)
    {
        Started.TrySetResult();
        while (!stoppingToken.IsCancellationRequested)
        {
            await context.Sleep(TimeSpan.FromMilliseconds(1));
        }
    }
}
