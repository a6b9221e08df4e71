using RtRuntime.Tasks;

namespace RtRuntime.Hosting.Tests;

/// <summary>Throws OperationCanceledException while nobody asked it to stop: a fault, as for a BackgroundService.</summary>
internal sealed class SelfCancellingWorker : RtWorker
{
    protected override async ValueTask ExecuteAsync(TaskContext context, CancellationToken stoppingToken)
    {
        await context.PreemptionPoint();
        throw new OperationCanceledException("gave up on its own");
    }
}
