using RtRuntime.Tasks;

namespace RtRuntime.Hosting.Tests;

/// <summary>Registers a callback on its stopping token that throws (user code), then returns when the host stops it.</summary>
internal sealed class ThrowingStopCallbackWorker : RtWorker
{
    public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected override async ValueTask ExecuteAsync(TaskContext context, CancellationToken stoppingToken)
    {
        using CancellationTokenRegistration registration = stoppingToken.Register(() => throw new InvalidOperationException("a stopping-token callback failed"));
        Started.TrySetResult();
        while (!stoppingToken.IsCancellationRequested)
        {
            await context.Sleep(TimeSpan.FromMilliseconds(1));
        }
    }
}
