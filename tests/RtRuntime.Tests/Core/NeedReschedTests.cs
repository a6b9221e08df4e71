using System.Runtime.CompilerServices;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// <c>TaskContext.NeedResched</c> (the kernel's <c>need_resched()</c>): the one-load test a hot loop makes
/// before awaiting a preemption point only when one is due.
/// </summary>
public class NeedReschedTests
{
    [Fact]
    public async Task NeedResched_ClearWhileAlone_SetOnceAHigherTaskWaits_ThenThePointSwitches()
    {
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.StrictChecks = false; // strict checks keep it set (every point tests the thread)
            o.StallThreshold = Rt.NoStallProbe; // only the test's own cause may set the flag
        });
        var log = new EventLog();
        var lowRunning = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool sawClear = false;
        bool sawSet = false;

        var low = rt.Spawn("low", 10, async ctx =>
        {
            // A stray pending bit (a timer probe) clears at a point; alone, the flag must come clear.
            for (int i = 0; i < 1000 && ctx.NeedResched; i++)
            {
                await ctx.PreemptionPoint();
            }

            sawClear = !ctx.NeedResched;
            lowRunning.SetResult();

            // A synchronous loop with no point: only the flag tells it the high task waits.
            ctx.SpinWithoutPointsUntil(() => ctx.NeedResched, "NeedResched is set");
            sawSet = ctx.NeedResched;
            log.Add("low:flag");
            await ctx.PreemptionPoint();
            log.Add("low:end");
        });
        await lowRunning.Task.WithTimeout();
        var high = rt.Spawn("high", 50, _ =>
        {
            log.Add("high");
            return ValueTask.CompletedTask;
        });
        await high.WithTimeout();
        await low.WithTimeout();

        Assert.True(sawClear);
        Assert.True(sawSet);
        Assert.Equal(["low:flag", "high", "low:end"], log.Snapshot());
    }

    /// <summary>
    /// The pattern the flag is for: a synchronous loop with no call in its body, testing only the flag.
    /// An optimized loop keeps a plain field read out of the loop (the read is made once, before it), so
    /// the flag's read must be volatile; else this loop never ends and the hang guard fails the test.
    /// </summary>
    [Fact]
    public async Task NeedResched_InALoopWithoutCalls_IsSeenWhenAHigherTaskWaits()
    {
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.StrictChecks = false; // strict checks keep it set (every point tests the thread)
            o.StallThreshold = Rt.NoStallProbe;
        });
        var spinning = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var low = rt.Spawn<long>("low", 10, async ctx =>
        {
            while (ctx.NeedResched)
            {
                await ctx.PreemptionPoint(); // a stray pending bit clears at a point
            }

            spinning.SetResult();
            return SpinUntilNeedResched(ctx);
        });
        await spinning.Task.WithTimeout();
        await Task.Delay(50); // let the loop reach optimized code (on-stack replacement) before the flag is set
        var high = rt.Spawn("high", 50, _ => ValueTask.CompletedTask);

        Assert.True(await low.WithTimeout() > 0);
        await high.WithTimeout();
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static long SpinUntilNeedResched(TaskContext ctx)
    {
        long spins = 0;
        while (!ctx.NeedResched)
        {
            spins++;
        }

        return spins;
    }

    [Fact]
    public async Task NeedResched_SetByCancel_ThePointThrows()
    {
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.StrictChecks = false;
            o.StallThreshold = Rt.NoStallProbe; // only the test's own cause may set the flag
        });
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool sawSet = false;
        var task = rt.Spawn("victim", 10, async ctx =>
        {
            running.SetResult();
            ctx.SpinWithoutPointsUntil(() => ctx.NeedResched, "NeedResched is set");
            sawSet = ctx.NeedResched;
            await ctx.PreemptionPoint();
        });
        await running.Task.WithTimeout();
        task.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task.WithTimeout());
        Assert.True(sawSet);
        Assert.Equal(RtTaskState.Cancelled, task.State);
    }

    [Fact]
    public async Task NeedResched_UnderStrictChecks_AlwaysSet()
    {
        await using var rt = Rt.Start(cpus: 1);
        bool set = await rt.Spawn<bool>("t", 10, ctx => ValueTask.FromResult(ctx.NeedResched)).WithTimeout();

        Assert.True(set);
    }
}
