using RtRuntime.Tasks;

namespace RtRuntime.Hosting.Tests;

/// <summary>Throws from its body.</summary>
internal sealed class FaultingWorker : RtWorker
{
    protected override async ValueTask ExecuteAsync(TaskContext context, CancellationToken stoppingToken)
    {
        await context.PreemptionPoint();
        throw new InvalidOperationException("worker failure for the test");
    }
}
