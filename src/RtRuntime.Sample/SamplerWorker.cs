using Microsoft.Extensions.Options;
using RtRuntime.Cpus;
using RtRuntime.Hosting;
using RtRuntime.Tasks;

namespace RtRuntime.Sample;

/// <summary>
/// The high-priority worker (FIFO 80 in appsettings.json): wakes every period on an absolute schedule
/// (<see cref="RtPeriod"/>: drift-free, like cyclictest) and records the wakeup latency and the periods
/// it missed in this CPU's slot of the shared <see cref="PerCpuStats"/>.
/// </summary>
internal sealed class SamplerWorker(PerCpuStats stats, IOptions<SampleOptions> options) : RtWorker
{
    protected override async ValueTask ExecuteAsync(TaskContext context, CancellationToken stoppingToken)
    {
        var period = new RtPeriod(options.Value.SamplePeriod);
        long recordFrom = RtClock.NowNs() + RtClock.ToNs(options.Value.WarmUp);
        while (!stoppingToken.IsCancellationRequested)
        {
            long release = period.NextReleaseNs;
            long missed = await period.WaitAsync(context);
            long latency = RtClock.NowNs() - release;
            using (context.MigrateDisable())
            {
                ref CpuSlot slot = ref stats.ThisCpu(context);
                slot.Samples++;
                if (release < recordFrom)
                {
                    continue; // the warm-up (SampleOptions.WarmUp): JIT compilations on this CPU's thread
                }

                slot.Overruns += missed;
                if (missed == 0 && latency > slot.MaxLatencyNs)
                {
                    slot.MaxLatencyNs = latency; // a missed period's lateness is counted as an overrun instead
                }
            }
        }
    }
}
