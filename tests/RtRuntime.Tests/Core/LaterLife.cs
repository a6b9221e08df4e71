using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>A <see cref="RtScheduler.RunAsync"/> life on the task object an earlier life ended on (reused from the cache).</summary>
internal static class LaterLife
{
    /// <summary>
    /// Runs RunAsync tasks on a one-CPU runtime until one gets <paramref name="first"/>'s object: that
    /// life blocks on <paramref name="hold"/> (then throws <paramref name="faultAfter"/>, when given).
    /// Returns its completion once it is blocked; fails after 1,000 tries.
    /// </summary>
    public static async Task<ValueTask> BlockedOnTheSameObjectAsync(RtScheduler rt, RtTask first, RtEvent hold, Exception? faultAfter = null)
    {
        for (int i = 0; i < 1000; i++)
        {
            bool onFirst = false;
            ValueTask later = rt.RunAsync("later", 10, async ctx =>
            {
                if (ReferenceEquals(ctx.Task, first))
                {
                    onFirst = true;
                    await hold.WaitAsync(ctx); // this life stays pending on the same object
                    if (faultAfter is not null)
                    {
                        throw faultAfter;
                    }
                }
            });

            await Rt.Until(() => onFirst || later.IsCompleted, "the later life placed");
            if (!onFirst)
            {
                await later.AsTask().WithTimeout();
                await Rt.Until(() => rt.Cpus[0].IsIdle, "the CPU idle");
                continue;
            }

            await Rt.Until(() => first.State == RtTaskState.Blocked, "the later life blocked");
            return later;
        }

        Assert.Fail("No later life ran on the first life's object in 1,000 attempts.");
        return default;
    }
}
