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
        // The report's path once during the sampler's warm-up: its first calls are JIT-compiled on this
        // CPU's thread, milliseconds the sampler would otherwise wait at the first report.
        await System.Threading.Tasks.Task.Run(() => GC.KeepAlive(Snapshot()), CancellationToken.None);
        long lastReport = Stopwatch.GetTimestamp();
        long started = lastReport;
        while (!stoppingToken.IsCancellationRequested)
        {
            if (options.Value.FailAfter is { } failAfter && Stopwatch.GetElapsedTime(started) >= failAfter)
            {
                // Sample:FailAfter: a worker fault on purpose. The host logs it and stops (StopHost), and
                // Program returns 1 because RtRuntimeAccessor.WorkerFault is set.
                throw new InvalidOperationException($"the housekeeping fails on purpose after {failAfter} (Sample:FailAfter).");
            }

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
                // The slots are read here, the console written on the ThreadPool: a console write takes
                // milliseconds, and on this CPU's thread it would hold off the sampler (higher priority,
                // same CPU) for all of them, as a step with no preemption point does. Awaiting the Task
                // suspends this task; it resumes on its CPU.
                CpuSlot[] slots = Snapshot();
                await System.Threading.Tasks.Task.Run(() => Report(slots), CancellationToken.None);
                lastReport = Stopwatch.GetTimestamp();
            }

            await context.Sleep(TimeSpan.FromMilliseconds(10)); // leave the cores some idle time
        }
    }

    private CpuSlot[] Snapshot()
    {
        var slots = new CpuSlot[stats.CpuCount];
        for (int cpu = 0; cpu < slots.Length; cpu++)
        {
            slots[cpu] = stats.Read(cpu);
        }

        return slots;
    }

    private void Report(CpuSlot[] slots)
    {
        for (int cpu = 0; cpu < slots.Length; cpu++)
        {
            CpuSlot slot = slots[cpu];
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
