#:project ../../src/RtRuntime/RtRuntime.csproj
#:property TreatWarningsAsErrors=false
#:property NoWarn=CA1303;CA1305;CA1307;CA1309;CA1310;CA1822;CA1852;CA2007;IDE0005;IDE0058

// A periodic task's wakeup latency on an otherwise idle CPU, alone or with a second task asleep on
// the same CPU (the sample host's shape: a FIFO 80 sampler every 2 ms, a FIFO 10 housekeeper that
// works `chunks` chunks of ~20 µs between sleeps of `sleepUs`). 6 s per run; latencies of releases
// the loop kept up with (missed == 0).
//   dotnet run -c Release perf/probes/SecondSleeperProbe.cs -- alone|both [chunks] [sleepUs]
using RtRuntime;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

string mode = args.Length > 0 ? args[0] : "both";
int chunks = args.Length > 1 ? int.Parse(args[1]) : 0;
int sleepUs = args.Length > 2 ? int.Parse(args[2]) : 10_000;
await using var rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 2 });
var lats = new List<long>();
double sink = 0;
var stop = new CancellationTokenSource(TimeSpan.FromSeconds(6));
RtTask sampler = rt.Spawn("sampler", 80, async ctx =>
{
    var period = new RtPeriod(TimeSpan.FromMilliseconds(2));
    while (!stop.IsCancellationRequested)
    {
        long release = period.NextReleaseNs;
        long missed = await period.WaitAsync(ctx);
        long lat = RtClock.NowNs() - release;
        if (missed == 0)
        {
            lats.Add(lat);
        }
    }
}, affinity: CpuSet.Of(0));
RtTask? second = mode == "both" ? rt.Spawn("second", 10, async ctx =>
{
    while (!stop.IsCancellationRequested)
    {
        for (int c = 0; c < chunks; c++)
        {
            double x = sink;
            for (int i = 1; i < 2000; i++)
            {
                x = Math.Sqrt(x + i);
            }

            sink += x;
            await ctx.PreemptionPoint();
        }

        await ctx.Sleep(TimeSpan.FromMicroseconds(sleepUs));
    }
}, affinity: CpuSet.Of(0)) : null;
await sampler;
if (second is not null)
{
    await second;
}

lats.Sort();
double P(double q) => lats[(int)(q * (lats.Count - 1))] / 1000.0;
Console.WriteLine($"{mode} chunks={chunks} sleep={sleepUs}us: n={lats.Count} p10={P(0.1):F1} p25={P(0.25):F1} p50={P(0.5):F1} p75={P(0.75):F1} p99={P(0.99):F1} p99.9={P(0.999):F1} max={P(1):F1} us");
