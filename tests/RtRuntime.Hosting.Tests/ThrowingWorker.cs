using RtRuntime.Tasks;

namespace RtRuntime.Hosting.Tests;

/// <summary>Passes one preemption point, then throws <see cref="Failure"/> from its body.</summary>
internal abstract class ThrowingWorker : RtWorker
{
    protected abstract Exception Failure();

    protected override async ValueTask ExecuteAsync(TaskContext context, CancellationToken stoppingToken)
    {
        await context.PreemptionPoint();
        throw Failure();
    }
}
