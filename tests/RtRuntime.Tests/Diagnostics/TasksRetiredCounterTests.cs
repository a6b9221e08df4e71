using RtRuntime.Tasks;

namespace RtRuntime.Tests.Diagnostics;

/// <summary>
/// <c>rtruntime.cpu.tasks_retired</c> / <see cref="RtScheduler.TasksRetired"/> count the pooled task
/// objects that went back to the task cache for reuse: not those a full cache left to the GC.
/// </summary>
public class TasksRetiredCounterTests
{
    private const int Burst = 1_000;

    [Fact]
    public async Task TasksRetired_CacheFull_CountsOnlyObjectsTheCacheKeptForReuse()
    {
        // One CPU and the smallest cache (one batch): a burst of pooled tasks all in flight together
        // ends one after another, and the cache keeps one batch of their objects; the rest go to the GC.
        await using var rt = Rt.Start(o => { o.CpuCount = 1; o.TaskCacheCapacity = 1; o.StallThreshold = Rt.NoStallProbe; });
        var firstLives = new HashSet<RtTask>(ReferenceEqualityComparer.Instance);
        await BurstAsync(rt, task =>
        {
            lock (firstLives)
            {
                firstLives.Add(task);
            }
        });
        await Rt.Until(() => rt.Cpus[0].IsIdle, "cpu0 idle (its free list handed to the cache)");
        long retired = rt.TasksRetired;

        // A second burst, larger than the cache, takes every object the cache kept.
        int reused = 0;
        await BurstAsync(rt, task =>
        {
            lock (firstLives)
            {
                if (firstLives.Contains(task))
                {
                    reused++;
                }
            }
        });

        Assert.True(retired > 0, "no object went back to the cache: the test proves nothing");
        Assert.True(retired <= reused, $"{retired} objects counted as retired for reuse, {reused} of them reused by {Burst} later spawns");
    }

    /// <summary>Spawns <see cref="Burst"/> pooled tasks behind a higher task (so all are in flight together), then lets them run.</summary>
    private static async Task BurstAsync(RtScheduler rt, Action<RtTask> body)
    {
        int release = 0;
        RtTask hog = rt.Spawn("hog", 80, ctx => ctx.SpinUntil(() => Volatile.Read(ref release) == 1, "released"));
        var runs = new List<Task>(Burst);
        for (int i = 0; i < Burst; i++)
        {
            runs.Add(rt.RunAsync("pooled", 10, ctx =>
            {
                body(ctx.Task);
                return ValueTask.CompletedTask;
            }).AsTask());
        }

        Volatile.Write(ref release, 1);
        await hog.WithTimeout();
        await Task.WhenAll(runs).WaitAsync(Rt.Hang);
    }
}
