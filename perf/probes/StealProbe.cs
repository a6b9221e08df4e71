#:project ../../src/RtRuntime/RtRuntime.csproj
#:property TreatWarningsAsErrors=false
#:property NoWarn=CA1303;CA1305;CA1307;CA1515;CA1822;CA1852;CA2007;IDE0005;IDE0058
// A lock convoy: h (60, cpu1) takes an RtMutex for 1 µs, again and again, with 2 µs of its own work
// (ending at a preemption point) between; w (20, cpu0) takes the same mutex for 1 µs in a loop, and x
// (40, cpu0) keeps cpu0 busy in bursts. An unlock of h's that finds w waiting hands m to it. Without
// lock stealing h's next lock then waits for w to run (boosted to 60: at x's next point when x runs),
// run its section and unlock; with it (from the thirty-fifth session) h takes m back at once while w
// has not run yet, and w blocks again when it does. How long does h wait for m, and how many sections
// does each task get?
// With "local", the lock is a LocalLock and h, w and x all run on cpu0 (a local lock's tasks share its
// CPU), and h sleeps 20 µs inside each section, so that w runs and waits for the lock: without stealing
// h's next lock after its unlock handed the lock to w blocks h, boosts w, switches to w for its section
// and back; with it h takes the lock back without a switch.
//   dotnet run -c Release perf/probes/StealProbe.cs [h's sections, default 20000] [local]
using System.Diagnostics;
using RtRuntime;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

int sections = args.Length > 0 ? int.Parse(args[0]) : 20_000;
bool local = args.Length > 1 && args[1] == "local";
await using RtScheduler rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 2 });
var m = new RtMutex(rt, "m");
var ll = new RtRuntime.PerCpu.LocalLock(rt, "ll");
async ValueTask<IDisposable> Lock(TaskContext ctx) => local ? await ll.LockAsync(ctx) : await m.LockAsync(ctx);
int stop = 0;
long wSections = 0;
long[] waits = new long[sections];
RtTask w = rt.Spawn("w", 20, async ctx =>
{
    while (Volatile.Read(ref stop) == 0)
    {
        using (await Lock(ctx))
        {
            Spin(1_000);
            wSections++;
        }

        await ctx.PreemptionPoint();
    }
}, affinity: CpuSet.Of(0));
RtTask x = rt.Spawn("x", 40, async ctx =>
{
    // cpu0 is busy in bursts: 20 µs of work with a point every 5 µs, then 20 µs asleep. A waiter handed m
    // while x runs stays queued behind it until x sleeps, unless a boost lifts it above x.
    while (Volatile.Read(ref stop) == 0)
    {
        for (int i = 0; i < 4; i++)
        {
            Spin(5_000);
            await ctx.PreemptionPoint();
        }

        await ctx.Sleep(TimeSpan.FromMicroseconds(20));
    }
}, affinity: CpuSet.Of(0));
var clock = Stopwatch.StartNew();
RtTask h = rt.Spawn("h", 60, async ctx =>
{
    for (int i = 0; i < sections; i++)
    {
        long t0 = RtClock.NowNs();
        using (await Lock(ctx))
        {
            waits[i] = RtClock.NowNs() - t0;
            Spin(1_000);
            if (local)
            {
                await ctx.Sleep(TimeSpan.FromMicroseconds(20)); // cpu0 runs w meanwhile, which then waits for the lock
            }
        }

        Spin(2_000);
        await ctx.PreemptionPoint();
    }

    Volatile.Write(ref stop, 1);
}, affinity: CpuSet.Of(local ? 0 : 1));
await h.AsTask();
double seconds = clock.Elapsed.TotalSeconds;
await w.AsTask();
await x.AsTask();
long[] sorted = waits[(sections / 10)..]; // the first tenth warms up
Array.Sort(sorted);
object? steals = local
    ? typeof(RtRuntime.PerCpu.LocalLock).GetProperty("StealCount")?.GetValue(ll)
    : typeof(RtMutex).GetProperty("StealCount")?.GetValue(m); // absent before lock stealing
Console.WriteLine($"h's lock wait over {sorted.Length} sections: p50 {sorted[sorted.Length / 2] / 1000.0:0.0} µs  p90 {sorted[sorted.Length * 9 / 10] / 1000.0:0.0} µs  p99 {sorted[sorted.Length * 99 / 100] / 1000.0:0.0} µs  max {sorted[^1] / 1000.0:0.0} µs");
Console.WriteLine($"h: {sections / seconds:0} sections/s ({seconds * 1e6 / sections:0.0} µs each); w: {wSections} sections meanwhile; steals: {steals ?? "n/a (no lock stealing)"}");

static void Spin(long ns)
{
    long end = RtClock.NowNs() + ns;
    while (RtClock.NowNs() < end)
    {
    }
}
