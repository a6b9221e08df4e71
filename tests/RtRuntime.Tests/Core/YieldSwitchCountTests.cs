using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// Switch counts at a yield: __schedule counts a context switch (nvcsw, rq->nr_switches) only when
/// <c>prev != next</c>, so a yield that picks the same task again is not one.
/// </summary>
public class YieldSwitchCountTests
{
    private const int Yields = 100;

    [Fact]
    public async Task Yield_AloneOnItsCpu_CountsNoSwitch_ForTheTaskOrTheCpu()
    {
        await using var rt = Rt.Start(cpus: 1);
        long before = rt.Snapshot().Cpus[0].ContextSwitches;

        var t = rt.Spawn("alone", 10, async ctx =>
        {
            for (int i = 0; i < Yields; i++)
            {
                await ctx.Yield(); // nothing else runnable: picked again at once
            }
        });
        await t.WithTimeout();

        Assert.Equal(1, t.Switches); // its first switch-in only
        Assert.Equal(1, rt.Snapshot().Cpus[0].ContextSwitches - before);
    }

    [Fact]
    public async Task Yield_ToAnEqualPeer_CountsEverySwitch()
    {
        await using var rt = Rt.Start(cpus: 1);
        long before = rt.Snapshot().Cpus[0].ContextSwitches;
        RtTask? a = null, b = null;

        // The gate queues both before either runs, so each yield hands the CPU to the other.
        var gate = rt.Spawn("gate", 99, _ =>
        {
            a = rt.Spawn("A", 10, YieldThrice);
            b = rt.Spawn("B", 10, YieldThrice);
            return ValueTask.CompletedTask;
        });
        await gate.WithTimeout();
        await a!.WithTimeout();
        await b!.WithTimeout();

        // A, B, A, B, A, B, A (ends), B (ends): four switch-ins each, and the gate's one.
        Assert.Equal(4, a!.Switches);
        Assert.Equal(4, b!.Switches);
        Assert.Equal(9, rt.Snapshot().Cpus[0].ContextSwitches - before);

        static async ValueTask YieldThrice(TaskContext ctx)
        {
            for (int i = 0; i < 3; i++)
            {
                await ctx.Yield();
            }
        }
    }
}
