#:project ../../src/RtRuntime/RtRuntime.csproj
#:property TreatWarningsAsErrors=false
#:property NoWarn=CA1303;CA1305;CA1307;CA1515;CA1822;CA1852;CA2007;IDE0005;IDE0058
// Preemption latency of a high task (FIFO 50) woken every ~1 ms by an event set from outside the
// runtime, on a CPU where a low task (FIFO 10) computes with a preemption point every ~1 µs: the low
// task migratable, then inside migrate_disable (a pinned task preempted: the balancer's pile-up
// path), alternately, twice each; 2,000 wakeups per row, both tasks bound to cpu0 of a 2-CPU runtime.
//   dotnet run -c Release perf/probes/PinnedPreemptProbe.cs
using RtRuntime;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

await using RtScheduler rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 2 });
foreach (bool pinned in new[] { false, true, false, true })
{
    var ev = new RtEvent(autoReset: true);
    int stop = 0;
    long setAt = 0;
    var lat = new List<long>();
    RtTask low = rt.Spawn("low", 10, async ctx =>
    {
        while (Volatile.Read(ref stop) == 0)
        {
            if (pinned)
            {
                using (ctx.MigrateDisable())
                {
                    long end = RtClock.NowNs() + 1_000;
                    while (RtClock.NowNs() < end) { }
                    await ctx.PreemptionPoint();
                }
            }
            else
            {
                long end = RtClock.NowNs() + 1_000;
                while (RtClock.NowNs() < end) { }
                await ctx.PreemptionPoint();
            }
        }
    }, affinity: CpuSet.Of(0));
    RtTask high = rt.Spawn("high", 50, async ctx =>
    {
        for (int i = 0; i < 2000; i++)
        {
            await ev.WaitAsync(ctx);
            lat.Add(RtClock.NowNs() - Volatile.Read(ref setAt));
        }
    }, affinity: CpuSet.Of(0));
    await Task.Delay(50);
    for (int i = 0; i < 2000; i++)
    {
        await Task.Delay(1);
        Volatile.Write(ref setAt, RtClock.NowNs());
        ev.Set();
    }
    await high.AsTask();
    Volatile.Write(ref stop, 1);
    await low.AsTask();
    lat.Sort();
    Console.WriteLine($"low {(pinned ? "migrate-disabled" : "migratable      ")}: preemption latency p50 {lat[lat.Count / 2] / 1000.0:0.0} µs, p99 {lat[lat.Count * 99 / 100] / 1000.0:0.0} µs");
}
