using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RtRuntime.Hosting;
using RtRuntime.Tasks;

namespace RtRuntime.Sample;

/// <summary>
/// The low-priority worker (FIFO 10 in appsettings.json): does background work in chunks with
/// preemption points (the sampler, allowed on the same CPU, preempts it there), counts the chunks in
/// this CPU's slot of the shared <see cref="PerCpuStats"/>, and reports every CPU's slots now and then.
/// </summary>
internal sealed class HousekeepingWorker(PerCpuStats stats, IOptions<SampleOptions> options, ILogger<HousekeepingWorker> logger) : RtWorker
{
    private double _sink;

    protected override async ValueTask ExecuteAsync(TaskContext context, CancellationToken stoppingToken)
    {
        long lastReport = Stopwatch.GetTimestamp();
        while (!stoppingToken.IsCancellationRequested)
        {
            for (int chunk = 0; chunk < 20; chunk++)
            {
                using (context.MigrateDisable())
                {
                    _sink += Work();
                    stats.ThisCpu(context).Chunks++;
                }

                await context.PreemptionPoint();
            }

            if (Stopwatch.GetElapsedTime(lastReport) >= options.Value.ReportEvery)
            {
                // Logging writes to the console on this CPU thread: fine at this rate for the lowest
                // priority worker, never in a high-priority or hot path.
                Report();
                lastReport = Stopwatch.GetTimestamp();
            }

            await context.Sleep(TimeSpan.FromMilliseconds(10)); // leave the cores some idle time
        }
    }

    private void Report()
    {
        for (int cpu = 0; cpu < stats.CpuCount; cpu++)
        {
            CpuSlot slot = stats.Read(cpu);
            SampleLog.CpuReport(logger, cpu, slot.Samples, slot.MaxLatencyNs / 1000.0, slot.Overruns, slot.Chunks);
        }
    }

    private double Work()
    {
        double x = _sink;
        for (int i = 1; i < 2_000; i++)
        {
            x = Math.Sqrt(x + i);
        }

        return x;
    }
}
