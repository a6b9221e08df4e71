using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>The NonRt model (tip, Nov 2020): migrate_disable maps to preempt_disable (scenario 5).</summary>
public class NonRtModelTests
{
    [Fact]
    public async Task MigrateDisable_NonRtHigherPriorityWokenInside_RunsOnlyAtOutermostEnableImmediately()
    {
        await using var rt = Rt.Start(cpus: 1, model: PreemptionModel.NonRt);
        var log = new EventLog();
        RtTask? h = null;
        var l = rt.Spawn("L", 10, async ctx =>
        {
            await using (ctx.MigrateDisable())
            {
                h = rt.Spawn("H", 50, _ =>
                {
                    log.Add("H:run");
                    return ValueTask.CompletedTask;
                });
                for (int i = 0; i < 100; i++)
                {
                    await ctx.PreemptionPoint();
                }

                log.Add($"L:inside preempt={ctx.PreemptDepth} migrate={ctx.MigrateDisableDepth} nr_pinned={rt.NrPinned(0)}");
            }

            log.Add($"L:after preempt={ctx.PreemptDepth}");
        });
        await l.WithTimeout();
        await h!.WithTimeout();

        Assert.Equal(["L:inside preempt=1 migrate=0 nr_pinned=0", "H:run", "L:after preempt=0"], log.Snapshot());
        Assert.Equal(1, l.Preemptions);
    }

    [Fact]
    public async Task MigrateDisable_NonRtNested_CountsAsPreemptDepthNotNrPinned()
    {
        await using var rt = Rt.Start(cpus: 1, model: PreemptionModel.NonRt);
        var t = rt.Spawn<(int Preempt, int Migrate, int NrPinned, int PreemptAfter)>("T", 10, ctx =>
        {
            using var a = ctx.MigrateDisable();
            (int, int, int, int) r;
            using (ctx.PreemptDisable())
            {
                using (ctx.MigrateDisable())
                {
                    r = (ctx.PreemptDepth, ctx.MigrateDisableDepth, rt.NrPinned(0), 0);
                }
            }

            r.Item4 = ctx.PreemptDepth;
            return ValueTask.FromResult(r);
        });

        Assert.Equal((3, 0, 0, 1), await t.WithTimeout());
    }

    [Fact]
    public async Task Yield_NonRtInsideMigrateDisable_ThrowsSchedulingWhileAtomic()
    {
        await using var rt = Rt.Start(cpus: 1, model: PreemptionModel.NonRt);
        var t = rt.SpawnCatching("T", 10, async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                await ctx.Yield();
            }
        });

        var e = Assert.IsType<InvalidOperationException>(await t.WithTimeout());
        Assert.Contains("scheduling while atomic", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, rt.BugCount);
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task MigrateGuardDispose_NonRtTwice_ThrowsAsPreemptEnableUnderflow()
    {
        await using var rt = Rt.Start(cpus: 1, model: PreemptionModel.NonRt);
        var t = rt.Spawn<(string Message, int Depth)>("T", 10, ctx =>
        {
            var g = ctx.MigrateDisable();
            g.Dispose();
            var e = Assert.Throws<InvalidOperationException>(() => g.Dispose());
            return ValueTask.FromResult((e.Message, ctx.PreemptDepth));
        });

        var r = await t.WithTimeout();
        Assert.Contains("migrate_enable (as preempt_enable) underflow or out of order", r.Message, StringComparison.Ordinal);
        Assert.Equal(0, r.Depth);
    }
}
