using RtRuntime.Tasks;

namespace RtRuntime.Hosting.Tests;

/// <summary>Ignores the stopping token: only the runtime's cancellation (a throwing sleep) ends it.</summary>
internal sealed class StubbornWorker : RtWorker
{
    public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected override async ValueTask ExecuteAsync(TaskContext context, CancellationToken stoppingToken)
    {
        Started.TrySetResult();
        while (true)
        {
            await context.Sleep(TimeSpan.FromMilliseconds(5));
        }
    }
}
