#:project ../../src/RtRuntime/RtRuntime.csproj
#:property TreatWarningsAsErrors=false
#:property AllowUnsafeBlocks=true
#:property NoWarn=CA1303;CA1305;CA1307;CA1310;CA1822;CA1852;CA2007;IDE0005;IDE0058;SYSLIB5007
// The preemption point's cost inside an async loop, timed by the CPU thread's own CPU clock
// (CLOCK_THREAD_CPUTIME_ID: time the thread was descheduled is not counted):
//   dotnet run -c Release perf/probes/PointProbe.cs
// A task on one CPU runs a 1M-iteration loop `sink += i; await ctx.PreemptionPoint();` and the same loop
// without the await; after 60 warm-up calls of each (pausing, so the JIT reaches tier 1), 5 rows of 20
// calls, alternated. "added" is the point's cost per iteration over the empty loop.
//
// The same file compiled with .NET 10's runtime async (a preview: the compiler emits async methods for
// the runtime to suspend, instead of C# state machines, and the runtime needs DOTNET_RuntimeAsync=1):
//   bash perf/probes/point-runtime-async.sh
// The first line printed says which of the two compiled the loop.
using System.Reflection;
using RtRuntime;
using RtRuntime.Tasks;

await using var rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1, StrictChecks = false });
const int N = 1_000_000;
bool runtimeAsync = typeof(PointLoops).GetMethod(nameof(PointLoops.Points))!.MethodImplementationFlags.HasFlag((MethodImplAttributes)0x2000);
Console.WriteLine($"loops compiled as {(runtimeAsync ? "runtime async (.NET 10 preview)" : "C# async state machines")}");
long ns = 0;
Action<long> report = r => ns = r;
for (int w = 0; w < 60; w++)
{
    await rt.Spawn("warm", 50, ctx => PointLoops.Empty(ctx, report));
    await rt.Spawn("warm", 50, ctx => PointLoops.Points(ctx, report));
    if (w % 10 == 0)
    {
        Thread.Sleep(250); // past the tiering delay
    }
}

for (int row = 0; row < 5; row++)
{
    double empty = 0, points = 0;
    for (int k = 0; k < 20; k++)
    {
        await rt.Spawn("empty", 50, ctx => PointLoops.Empty(ctx, report));
        empty += ns;
        await rt.Spawn("points", 50, ctx => PointLoops.Points(ctx, report));
        points += ns;
    }

    Console.WriteLine($"empty loop {empty / 20 / N:F3} ns  with a point {points / 20 / N:F3} ns  added {(points - empty) / 20 / N:F3} ns");
}

static class PointLoops
{
    public const int N = 1_000_000;

    public static async ValueTask Empty(TaskContext ctx, Action<long> report)
    {
        long t0 = OwnThreadCpuNs();
        int sink = 0;
        for (int i = 0; i < N; i++)
        {
            sink += i;
        }

        report(OwnThreadCpuNs() - t0 + (sink & 0));
        await default(ValueTask);
    }

    public static async ValueTask Points(TaskContext ctx, Action<long> report)
    {
        long t0 = OwnThreadCpuNs();
        int sink = 0;
        for (int i = 0; i < N; i++)
        {
            sink += i;
            await ctx.PreemptionPoint();
        }

        report(OwnThreadCpuNs() - t0 + (sink & 0));
    }

    // The calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID), ns.
    private static unsafe long OwnThreadCpuNs()
    {
        long* ts = stackalloc long[2];
        _ = ClockGetTime(3, ts);
        return (ts[0] * 1_000_000_000) + ts[1];
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern unsafe int ClockGetTime(int clock, long* ts);
}
