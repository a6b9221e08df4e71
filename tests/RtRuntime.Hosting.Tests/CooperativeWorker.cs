using RtRuntime.Tasks;

namespace RtRuntime.Hosting.Tests;

/// <summary>Sleeps in a loop and returns when the host asks it to stop.</summary>
internal sealed class CooperativeWorker : RtWorker
{
    public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public long Iterations;

    protected override async ValueTask ExecuteAsync(TaskContext context, CancellationToken stoppingToken)
    {
        Started.TrySetResult();
        while (!stoppingToken.IsCancellationRequested)
        {
            Interlocked.Increment(ref Iterations);
            await context.Sleep(TimeSpan.FromMilliseconds(1));
        }
    }
}
