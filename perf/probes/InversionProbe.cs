#:project ../../src/RtRuntime/RtRuntime.csproj
#:property TreatWarningsAsErrors=false
#:property NoWarn=CA1303;CA1305;CA1307;CA1515;CA1822;CA1852;CA2007;IDE0005;IDE0058
// Priority inversion, measured: on one CPU, a low task (FIFO 10) holds a lock; a middle task (FIFO 30)
// preempts it; then a high task (FIFO 50) asks for the lock, after which the low task has 50 µs of
// its section left and the middle task 5 ms of work (both computing with a point every ~1 µs). How
// long does the high task wait?
// - RtMutex: the low holder is boosted to 50 and finishes its section ahead of the middle task;
// - RtSemaphore(1) (no owner, no inheritance): the low holder waits under the middle task, and so
//   does the high task, for the middle task's 5 ms (the classic unbounded inversion, here bounded by
//   the middle task's length).
// Rounds alternate the two locks; percentiles of the high task's wait per lock.
//   dotnet run -c Release perf/probes/InversionProbe.cs [rounds per lock, default 100] [the holder's section left in µs, default 50]
using RtRuntime;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

int rounds = args.Length > 0 ? int.Parse(args[0]) : 100;
long restNs = (args.Length > 1 ? long.Parse(args[1]) : 50) * 1000; // the holder's section left when the high task asks
await using RtScheduler rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1 });
var waits = new Dictionary<string, List<long>> { ["RtMutex"] = [], ["RtSemaphore(1)"] = [] };
for (int round = 0; round < 2 * rounds + 4; round++)
{
    bool mutex = round % 2 == 0;
    long waitNs = await RoundAsync(rt, mutex, restNs);
    if (round >= 4)
    {
        waits[mutex ? "RtMutex" : "RtSemaphore(1)"].Add(waitNs); // the first two of each warm up
    }
}

Console.WriteLine($"the high task's wait for the lock, {rounds} rounds per lock (the holder's section has {restNs / 1000} µs left, the middle task 5 ms):");
foreach ((string name, List<long> list) in waits)
{
    list.Sort();
    Console.WriteLine($"  {name,-15} p50 {Us(list, 0.50),8:0.0} µs   p99 {Us(list, 0.99),8:0.0} µs   max {list[^1] / 1000.0,8:0.0} µs");
}

static double Us(List<long> sorted, double q) => sorted[Math.Min(sorted.Count - 1, (int)(q * sorted.Count))] / 1000.0;

static async Task<long> RoundAsync(RtScheduler rt, bool useMutex, long restNs)
{
    var mutex = new RtMutex(rt, "m");
    var semaphore = new RtSemaphore(1, 1);
    int held = 0;
    int middleStarted = 0;
    int asked = 0;
    long waitNs = -1;
    RtTask low = rt.Spawn("low", 10, async ctx =>
    {
        RtMutexGuard guard = default;
        if (useMutex)
        {
            guard = await mutex.LockAsync(ctx);
        }
        else
        {
            await semaphore.WaitAsync(ctx);
        }

        Volatile.Write(ref held, 1);
        await ComputeUntilAsync(ctx, () => Volatile.Read(ref asked) == 1); // the middle task preempts it meanwhile
        await ComputeAsync(ctx, restNs); // the rest of its section
        if (useMutex)
        {
            guard.Dispose();
        }
        else
        {
            semaphore.Release();
        }
    });
    await Until(() => Volatile.Read(ref held) == 1);

    RtTask middle = rt.Spawn("middle", 30, async ctx =>
    {
        Volatile.Write(ref middleStarted, 1);
        await ComputeUntilAsync(ctx, () => Volatile.Read(ref asked) == 1);
        await ComputeAsync(ctx, 5_000_000);
    });
    await Until(() => Volatile.Read(ref middleStarted) == 1);
    RtTask high = rt.Spawn("high", 50, async ctx =>
    {
        long start = RtClock.NowNs();
        Volatile.Write(ref asked, 1);
        if (useMutex)
        {
            using (await mutex.LockAsync(ctx))
            {
                waitNs = RtClock.NowNs() - start;
            }
        }
        else
        {
            await semaphore.WaitAsync(ctx);
            waitNs = RtClock.NowNs() - start;
            semaphore.Release();
        }
    });
    await Task.WhenAll(low.AsTask(), middle.AsTask(), high.AsTask());
    return waitNs;
}

static async ValueTask ComputeUntilAsync(TaskContext ctx, Func<bool> condition)
{
    while (!condition())
    {
        await ComputeAsync(ctx, 1_000);
    }
}

static async ValueTask ComputeAsync(TaskContext ctx, long ns)
{
    long end = RtClock.NowNs() + ns;
    while (RtClock.NowNs() < end)
    {
        long chunk = RtClock.NowNs() + 1_000;
        while (RtClock.NowNs() < chunk)
        {
        }

        await ctx.PreemptionPoint();
    }
}

static async Task Until(Func<bool> condition)
{
    while (!condition())
    {
        await Task.Delay(1); // no spinning thread beside the runtime's CPU on this 2-core machine
    }
}
