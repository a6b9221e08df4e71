#:project ../../src/RtRuntime/RtRuntime.csproj
#:property TreatWarningsAsErrors=false
#:property NoWarn=CA1303;CA1305;CA1307;CA1515;CA1822;CA1852;CA2007;IDE0005;IDE0058
// A two-hop priority-inheritance chain: l (10) holds m1 on cpu0 under x (30, computing with a point
// every µs); mid (20) holds m2 and waits for m1 on cpu1; h (50) asks for m2 on cpu1. How long from
// h's request until l runs again (boosted to 50 through mid)?
//   dotnet run -c Release perf/probes/ChainProbe.cs [rounds, default 200]
using RtRuntime;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

int rounds = args.Length > 0 ? int.Parse(args[0]) : 200;
await using RtScheduler rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 2 });
var lat = new List<long>();
for (int r = 0; r < rounds + 5; r++)
{
    long ns = await Round(rt);
    if (r >= 5) lat.Add(ns);
}
lat.Sort();
Console.WriteLine($"h's request to l running again, {rounds} rounds: p50 {lat[lat.Count / 2] / 1000.0:0.0} µs  p90 {lat[lat.Count * 9 / 10] / 1000.0:0.0} µs  p99 {lat[Math.Min(lat.Count - 1, lat.Count * 99 / 100)] / 1000.0:0.0} µs");

static async Task<long> Round(RtScheduler rt)
{
    var m1 = new RtMutex(rt, "m1");
    var m2 = new RtMutex(rt, "m2");
    int lHolds = 0, xRunning = 0, midWaits = 0, asked = 0, lDone = 0;
    long askedAt = 0, lBack = 0;
    RtTask l = rt.Spawn("l", 10, async ctx =>
    {
        using (await m1.LockAsync(ctx))
        {
            Volatile.Write(ref lHolds, 1);
            while (Volatile.Read(ref asked) == 0)
            {
                await ctx.PreemptionPoint();
            }

            lBack = RtClock.NowNs();
        }

        Volatile.Write(ref lDone, 1);
    }, affinity: CpuSet.Of(0));
    while (Volatile.Read(ref lHolds) == 0) await Task.Delay(1);
    RtTask x = rt.Spawn("x", 30, async ctx =>
    {
        Volatile.Write(ref xRunning, 1);
        while (Volatile.Read(ref lDone) == 0)
        {
            long end = RtClock.NowNs() + 1_000;
            while (RtClock.NowNs() < end) { }
            await ctx.PreemptionPoint();
        }
    }, affinity: CpuSet.Of(0));
    while (Volatile.Read(ref xRunning) == 0) await Task.Delay(1);
    RtTask mid = rt.Spawn("mid", 20, async ctx =>
    {
        using (await m2.LockAsync(ctx))
        {
            Volatile.Write(ref midWaits, 1);
            using (await m1.LockAsync(ctx)) { }
        }
    }, affinity: CpuSet.Of(1));
    while (Volatile.Read(ref midWaits) == 0 || m1.WaiterCount == 0) await Task.Delay(1);
    RtTask h = rt.Spawn("h", 50, async ctx =>
    {
        askedAt = RtClock.NowNs();
        Volatile.Write(ref asked, 1);
        using (await m2.LockAsync(ctx)) { }
    }, affinity: CpuSet.Of(1));
    await Task.WhenAll(l.AsTask(), x.AsTask(), mid.AsTask(), h.AsTask());
    return lBack - askedAt;
}
