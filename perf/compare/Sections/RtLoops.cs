using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Compare.Sections;

/// <summary>Task bodies shared by the latency sections: a periodic measurer and a low-priority hog.</summary>
internal static class RtLoops
{
    public const int Warmup = 50;

    /// <summary>
    /// The cyclictest loop: sleep to absolute deadlines every <paramref name="intervalNs"/> (pseudo-random
    /// 0.75–1.25 × it apart when <paramref name="jittered"/>: <see cref="DeadlineSequence"/>); latency =
    /// <see cref="RtClock.NowNs"/> right after the wake − the deadline. Missed periods are skipped.
    /// </summary>
    public static async ValueTask PeriodicAsync(TaskContext ctx, Latency h, int loops, long intervalNs, bool jittered = false)
    {
        DeadlineSequence deadlines = jittered ? DeadlineSequence.Jittered(intervalNs) : DeadlineSequence.Fixed(intervalNs);
        long next = deadlines.Next(RtClock.NowNs());
        for (int i = -Warmup; i < loops; i++)
        {
            await ctx.SleepUntil(next);
            long now = RtClock.NowNs();
            if (i >= 0)
            {
                h.Record(now - next);
            }

            next = deadlines.NextAfter(next, now);
        }
    }

    /// <summary>A low-priority hog: computes, passing a preemption point every <paramref name="pointNs"/>, until <paramref name="stop"/>.</summary>
    public static async ValueTask HogAsync(TaskContext ctx, Flag stop, long pointNs)
    {
        while (!stop.IsSet)
        {
            Busy.For(pointNs);
            await ctx.PreemptionPoint();
        }
    }

    /// <summary>Runs periodic measurers (one per CPU, pinned by affinity) with optional hogs; returns the merged latency.</summary>
    public static async Task<Latency> PeriodicOnEveryCpuAsync(string label, RtSchedulerOptions options, int loops, long intervalNs, long hogPointNs)
    {
        await using RtScheduler rt = RtScheduler.Start(options);
        int n = rt.CpuCount;
        var parts = new Latency[n];
        var stop = new Flag();
        var measurers = new List<Task>();
        var hogs = new List<Task>();
        for (int cpu = 0; cpu < n; cpu++)
        {
            Latency h = parts[cpu] = new Latency(label);
            measurers.Add(rt.Spawn("cyclic/" + cpu, 90, ctx => PeriodicAsync(ctx, h, loops, intervalNs), SchedPolicy.Fifo, CpuSet.Of(cpu)).AsTask());
            if (hogPointNs > 0)
            {
                hogs.Add(rt.Spawn("hog/" + cpu, 1, ctx => HogAsync(ctx, stop, hogPointNs), SchedPolicy.Fifo, CpuSet.Of(cpu)).AsTask());
            }
        }

        try
        {
            await Task.WhenAll(measurers);
        }
        finally
        {
            stop.Set();
            await Task.WhenAll(hogs);
        }

        return Latency.Merge(label, parts);
    }
}
