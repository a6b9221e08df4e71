using RtRuntime.Tasks;

namespace RtRuntime.Hosting.Tests;

/// <summary>Sleeps until stopped, then throws (a flush at shutdown that fails): a fault during the host's stop.</summary>
internal sealed class ThrowsAtStopWorker : RtWorker
{
    public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected override async ValueTask ExecuteAsync(TaskContext context, CancellationToken stoppingToken)
    {
        Started.TrySetResult();
        while (!stoppingToken.IsCancellationRequested)
        {
            await context.Sleep(TimeSpan.FromMilliseconds(1));
        }

        throw new IOException("the flush at stop failed");
    }
}
