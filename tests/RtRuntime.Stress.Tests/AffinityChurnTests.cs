using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Stress.Tests;

/// <summary>The runtime under set_cpus_allowed_ptr churn, checked with the harness's <see cref="AffinityHolder"/>.</summary>
public class AffinityChurnTests
{
    /// <summary>
    /// Tasks sleep, yield and pass points while this thread keeps changing their masks. At every step a
    /// task's CPU must be inside its last completed mask, or inside a request still in flight (the old
    /// and new masks are both allowed until it completes). No CPU goes offline, so no mask may be
    /// widened. This caught, at a few per 20 s before the fix, a request completing at once while its
    /// task was between CPUs, and a mask widened to every CPU because it changed to hold only the CPU
    /// the task was leaving; the deterministic forms are in RtRuntime.Tests' AffinityRaceTests.
    /// </summary>
    [Fact]
    public async Task SetAffinity_ChurnAgainstSleepYieldAndPoints_NoStepOutsideACompletedMask()
    {
        const int Tasks = 6;
        await using var rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 2, StrictChecks = true });
        CpuSet all = CpuSet.Of(0, 1);
        var holders = new AffinityHolder[Tasks];
        var tasks = new RtTask[Tasks];
        int stop = 0;
        long violations = 0;
        string? firstViolation = null;
        for (int i = 0; i < Tasks; i++)
        {
            int me = i;
            holders[me] = new AffinityHolder(all, all, widenAllowed: false);
            tasks[me] = rt.Spawn("churn/" + me, 10 + (5 * me), async ctx =>
            {
                var random = new Random(me);
                while (Volatile.Read(ref stop) == 0)
                {
                    CpuSet allowed = holders[me].Allowed;
                    int cpu = ctx.RawCpuId;
                    if (!allowed.Contains(cpu) && Interlocked.Increment(ref violations) == 1)
                    {
                        firstViolation = $"{ctx.Task.Name} ran on cpu{cpu}, allowed {{{allowed}}}, mask now {{{ctx.Task.Affinity}}}";
                    }

                    switch (random.Next(4))
                    {
                        case 0: await ctx.Sleep(TimeSpan.FromTicks(200)); break;
                        case 1: await ctx.Yield(); break;
                        case 2: await ctx.PreemptionPoint(); break;
                        default: Busy.For(random.Next(1_000, 20_000)); await ctx.PreemptionPoint(); break;
                    }
                }
            });
        }

        var changes = new Random(7);
        for (int n = 0; n < 20_000; n++)
        {
            int i = changes.Next(Tasks);
            CpuSet mask = changes.Next(3) switch { 0 => CpuSet.Of(0), 1 => CpuSet.Of(1), _ => all };
            bool same = mask == tasks[i].Affinity; // only this thread changes the masks
            long version = holders[i].Begin(mask, mask); // not the runtime's mask: a widened one is not excused
            Task done = rt.SetAffinityAsync(tasks[i], mask);
            if (same)
            {
                // The mask the task already has completes at once (the kernel's cpumask_equal shortcut), even
                // while an earlier request's move is pending: it tells nothing of where the task runs, so it
                // narrows nothing (its version supersedes the earlier one's: the union stays allowed until a
                // later request completes).
                Busy.For(changes.Next(5_000, 50_000));
                continue;
            }

            _ = done.ContinueWith(_ => holders[i].Complete(version), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            Busy.For(changes.Next(5_000, 50_000));
        }

        Volatile.Write(ref stop, 1);
        foreach (RtTask task in tasks)
        {
            await task.AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        }

        Assert.True(Interlocked.Read(ref violations) == 0, $"{violations} steps outside a completed mask; first: {firstViolation}");
    }
}
