using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Hosting.Tests;

/// <summary>Records how it was scheduled, then waits for the stop.</summary>
internal sealed class ProbeWorker : RtWorker
{
    public TaskCompletionSource<(int Priority, SchedPolicy Policy, CpuSet Affinity, int Cpu, string Name)> Observed { get; } =
        new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected override async ValueTask ExecuteAsync(TaskContext context, CancellationToken stoppingToken)
    {
        using (context.MigrateDisable())
        {
            Observed.TrySetResult((context.Task.BasePriority, context.Task.Policy, context.Task.Affinity, context.CpuId, context.Task.Name));
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            await context.Sleep(TimeSpan.FromMilliseconds(1));
        }
    }
}
