using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// The SCHED_RR slice is the task's own (the kernel's <c>p->rt.time_slice</c>): it is used up by the
/// task's run time whatever interrupts it, and refilled only when it runs out. Asserted by the order of
/// events, never by elapsed time (time only bounds how long a task keeps working).
/// </summary>
public class RoundRobinSliceTests
{
    /// <summary>
    /// Long enough that no single run of A between two preemptions lasts a slice, even when the OS
    /// holds the CPU thread off its core for a while (a loaded machine did for over 50 ms).
    /// </summary>
    private static readonly TimeSpan Slice = TimeSpan.FromSeconds(1);

    /// <summary>Many slices of work: the bound of a task that would otherwise never see its peer.</summary>
    private static readonly TimeSpan ManySlices = TimeSpan.FromSeconds(8);

    [Fact]
    public async Task PreemptionPoint_RoundRobinTaskPreemptedMoreOftenThanItsSlice_StillRotatesToItsPeer()
    {
        // A wakes a higher task before each of its points, so it is preempted at every point, long
        // before a slice has passed. Its slice must still run out after a slice of its own run time,
        // and B (its peer, queued behind it) then runs. With a slice restarted at each switch-in, B
        // waited until A ended.
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.RoundRobinSlice = Slice;
            o.StallThreshold = Rt.NoStallProbe;
        });
        var log = new EventLog();
        var kick = new RtEvent(autoReset: true);
        int bRan = 0, stop = 0;
        RtTask? high = null, a = null, b = null;

        // The loop A runs: wake H (which preempts A at the point), then the point.
        async ValueTask KickAndPoint(TaskContext ctx, Func<bool> done)
        {
            while (!done())
            {
                kick.Set(); // H preempts the caller at this point
                await ctx.PreemptionPoint();
            }
        }

        var gate = rt.Spawn("gate", 99, _ =>
        {
            high = rt.Spawn("H", 50, async ctx =>
            {
                while (Volatile.Read(ref stop) == 0)
                {
                    await kick.WaitAsync(ctx);
                }
            });

            // The same loop once before A, with no peer (a priority of its own): A's first slice is not
            // spent compiling it.
            int warm = 0;
            rt.Spawn("warm-up", 30, ctx => KickAndPoint(ctx, () => ++warm > 1000), SchedPolicy.RoundRobin);
            a = rt.Spawn("A", 20, async ctx =>
            {
                log.Add("A:start");
                long until = RtClock.NowNs() + RtClock.ToNs(ManySlices);
                await KickAndPoint(ctx, () => Volatile.Read(ref bRan) != 0 || RtClock.NowNs() >= until);
                log.Add("A:end");
            }, SchedPolicy.RoundRobin);
            b = rt.Spawn("B", 20, _ =>
            {
                log.Add("B");
                Volatile.Write(ref bRan, 1);
                return ValueTask.CompletedTask;
            }, SchedPolicy.RoundRobin);
            return ValueTask.CompletedTask;
        });
        await gate.WithTimeout();
        await a!.WithTimeout();
        await b!.WithTimeout();
        Volatile.Write(ref stop, 1);
        kick.Set();
        await high!.WithTimeout();

        Assert.Equal(["A:start", "B", "A:end"], log.Snapshot());
    }
}
