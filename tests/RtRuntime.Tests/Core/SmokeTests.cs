using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

public class SmokeTests
{
    [Fact]
    public async Task Spawn_EmptyBody_Completes()
    {
        await using var rt = Rt.Start();
        var t = rt.Spawn("empty", 10, _ => ValueTask.CompletedTask);
        await t.WithTimeout();
        Assert.Equal(RtTaskState.Completed, t.State);
    }

    [Fact]
    public async Task Spawn_WithResult_ReturnsResultAfterYieldsAndSleep()
    {
        await using var rt = Rt.Start();
        var t = rt.Spawn("sum", 10, async ctx =>
        {
            int sum = 0;
            for (int i = 0; i < 100; i++)
            {
                sum += i;
                await ctx.Yield();
                await ctx.PreemptionPoint();
            }

            await ctx.Sleep(TimeSpan.FromMilliseconds(1));
            return sum;
        });
        Assert.Equal(4950, await t.AsTask().WithTimeout());
    }

    [Fact]
    public async Task ForeignAwait_ResumesOnSameTaskOnRuntimeCpu()
    {
        await using var rt = Rt.Start();
        var t = rt.Spawn("foreign", 10, async ctx =>
        {
            await Task.Delay(5);
            int cpu = ctx.RawCpuId;
            await Task.Run(() => 1);
            Assert.Same(ctx.Task, ctx.Task);
            await ctx.PreemptionPoint();
            return cpu >= 0 && Thread.CurrentThread.Name!.StartsWith("rt/cpu", StringComparison.Ordinal);
        });
        Assert.True(await t.AsTask().WithTimeout());
    }
}
