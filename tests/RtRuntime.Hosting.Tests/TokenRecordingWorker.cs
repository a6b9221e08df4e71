using RtRuntime.Tasks;

namespace RtRuntime.Hosting.Tests;

/// <summary>Sleeps until stopped; records whether its stopping token was cancelled when its body ended (returned or cancelled).</summary>
internal sealed class TokenRecordingWorker : RtWorker
{
    public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource<bool> TokenCancelledAtEnd { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected override async ValueTask ExecuteAsync(TaskContext context, CancellationToken stoppingToken)
    {
        Started.TrySetResult();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await context.Sleep(TimeSpan.FromMilliseconds(1));
            }
        }
        finally
        {
            TokenCancelledAtEnd.TrySetResult(stoppingToken.IsCancellationRequested);
        }
    }
}
