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
