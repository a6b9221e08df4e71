namespace RtRuntime.Benchmarks;

/// <summary>Two equal-priority tasks on one CPU yielding to each other: the same-CPU switch path.</summary>
internal static class YieldPair
{
    /// <summary>Runs the pair to completion: 2 × <paramref name="yieldsEach"/> switches.</summary>
    public static void Run(RtScheduler rt, int yieldsEach)
    {
        var a = rt.Spawn("a", 20, async ctx =>
        {
            for (int i = 0; i < yieldsEach; i++)
            {
                await ctx.Yield();
            }
        });
        var b = rt.Spawn("b", 20, async ctx =>
        {
            for (int i = 0; i < yieldsEach; i++)
            {
                await ctx.Yield();
            }
        });
        a.AsTask().GetAwaiter().GetResult();
        b.AsTask().GetAwaiter().GetResult();
    }
}
