#:project ../../src/RtRuntime/RtRuntime.csproj
#:property TreatWarningsAsErrors=false
#:property NoWarn=CA1303;CA1305;CA1307;CA1515;CA1822;CA1852;CA2007;IDE0005;IDE0058
// A waiter that leaves drops its boost along a chain: l (10) holds m2 on cpu0, computing with a point
// every µs; o (20) holds m1 and waits for m2 on cpu1; h (50) waits for m1 on cpu1 for at most 2 ms,
// so l runs at 50 through o. How long from h's deadline until l's point finds its priority back at
// o's 20? The drop's first hop (o, asleep on m2) is taken where h's timeout is fired; the second (l,
// running) is a stopper bit for l's next point. Before the thirty-fourth session the first hop went
// through rt/balance.
//   dotnet run -c Release perf/probes/DepartureProbe.cs [rounds, default 200]
using RtRuntime;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

int rounds = args.Length > 0 ? int.Parse(args[0]) : 200;
await using RtScheduler rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 2 });
var lat = new List<long>();
int missed = 0;
for (int r = 0; lat.Count < rounds; r++)
{
    long ns = await Round(rt);
    if (ns < 0)
    {
        missed++; // l ran no point while h waited (the OS kept cpu0's thread off its core): no boost to drop
    }
    else if (r >= 5)
    {
        lat.Add(ns);
    }
}
lat.Sort();
Console.WriteLine($"h's deadline to l's drop along the chain, {rounds} rounds ({missed} without the boost seen, left out): p50 {lat[lat.Count / 2] / 1000.0:0.0} µs  p90 {lat[lat.Count * 9 / 10] / 1000.0:0.0} µs  p99 {lat[Math.Min(lat.Count - 1, lat.Count * 99 / 100)] / 1000.0:0.0} µs");

static async Task<long> Round(RtScheduler rt)
{
    const long TimeoutNs = 2_000_000;
    var m = new RtMutex(rt, "m2");
    var m1 = new RtMutex(rt, "m1");
    int lHolds = 0, hDone = 0, oHolds = 0;
    long deadline = 0, dropped = -1;
    RtTask l = rt.Spawn("l", 10, async ctx =>
    {
        using (await m.LockAsync(ctx))
        {
            Volatile.Write(ref lHolds, 1);
            bool boosted = false;
            while (true)
            {
                long end = RtClock.NowNs() + 1_000;
                while (RtClock.NowNs() < end) { }
                await ctx.PreemptionPoint();
                int prio = ctx.Task.EffectivePriority;
                if (prio == 50)
                {
                    boosted = true;
                }
                else if (boosted && prio == 20)
                {
                    dropped = RtClock.NowNs() - Volatile.Read(ref deadline);
                    break;
                }
                else if (Volatile.Read(ref hDone) == 1)
                {
                    break; // h came and went while this thread was off its core
                }
            }
        }
    }, affinity: CpuSet.Of(0));
    while (Volatile.Read(ref lHolds) == 0) await Task.Delay(1);
    RtTask o = rt.Spawn("o", 20, async ctx =>
    {
        using (await m1.LockAsync(ctx))
        {
            Volatile.Write(ref oHolds, 1);
            using (await m.LockAsync(ctx)) { }
        }
    }, affinity: CpuSet.Of(1));
    while (Volatile.Read(ref oHolds) == 0 || m.WaiterCount == 0) await Task.Delay(1);
    RtTask<bool> h = rt.Spawn<bool>("h", 50, async ctx =>
    {
        Volatile.Write(ref deadline, RtClock.NowNs() + TimeoutNs);
        return await m1.WaitAsync(ctx, TimeSpan.FromTicks(TimeoutNs / 100));
    }, affinity: CpuSet.Of(1));
    if (await h)
    {
        throw new InvalidOperationException("h took m1: o had it before the deadline");
    }

    Volatile.Write(ref hDone, 1);
    await l;
    await o;
    return dropped;
}
