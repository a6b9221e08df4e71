using Microsoft.Extensions.Options;
using RtRuntime.Cpus;
using RtRuntime.Hosting;
using RtRuntime.Tasks;

namespace RtRuntime.Sample;

/// <summary>
/// The high-priority worker (FIFO 80 in appsettings.json): wakes every period on an absolute deadline
/// (drift-free, like cyclictest) and records the wakeup latency in this CPU's slot of the shared
/// <see cref="PerCpuStats"/>.
/// </summary>
internal sealed class SamplerWorker(PerCpuStats stats, IOptions<SampleOptions> options) : RtWorker
{
    protected override async ValueTask ExecuteAsync(TaskContext context, CancellationToken stoppingToken)
    {
        long periodNs = RtClock.ToNs(options.Value.SamplePeriod);
        long deadline = RtClock.NowNs() + periodNs;
        while (!stoppingToken.IsCancellationRequested)
        {
            await context.SleepUntil(deadline);
            long latency = RtClock.NowNs() - deadline;
            using (context.MigrateDisable())
            {
                ref CpuSlot slot = ref stats.ThisCpu(context);
                slot.Samples++;
                if (latency > slot.MaxLatencyNs)
                {
                    slot.MaxLatencyNs = latency;
                }
            }

            deadline += periodNs;
        }
    }
}
