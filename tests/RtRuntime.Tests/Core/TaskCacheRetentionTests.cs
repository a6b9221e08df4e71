using System.Runtime.CompilerServices;

namespace RtRuntime.Tests.Core;

/// <summary>
/// A thread that spawned with <see cref="RtScheduler.RunAsync"/> keeps, in its thread statics, the
/// cached task objects it took; once the runtime has stopped, that must not keep the runtime (and its
/// cache of up to <see cref="RtSchedulerOptions.TaskCacheCapacity"/> objects) alive for as long as the
/// thread lives.
/// </summary>
public class TaskCacheRetentionTests
{
    [Fact]
    public void AStoppedRuntime_IsNotKeptAliveByAThreadThatSpawnedOnIt()
    {
        using var spawned = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        WeakReference? weak = null;
        Exception? error = null;
        var spawner = new Thread(() =>
        {
            try
            {
                weak = SpawnFromTheCacheThenStop();
            }
            catch (Exception e)
            {
                error = e;
            }

            spawned.Set();
            release.Wait(); // alive, with whatever its thread statics hold
        })
        { IsBackground = true, Name = "spawner" };
        spawner.Start();
        try
        {
            Assert.True(spawned.Wait(Rt.Hang), "the spawning thread did not finish");
            Assert.Null(error);
            for (int i = 0; i < 10 && weak!.IsAlive; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }

            Assert.False(weak!.IsAlive, "the stopped runtime is still reachable while the thread that spawned on it lives");
        }
        finally
        {
            release.Set();
            spawner.Join(Rt.Hang);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference SpawnFromTheCacheThenStop()
    {
        RtScheduler rt = Rt.Start(cpus: 2);
        long reused = 0;
        for (int round = 0; round < 50 && reused == 0; round++)
        {
            var runs = new Task[64];
            for (int i = 0; i < runs.Length; i++)
            {
                runs[i] = rt.RunAsync(null, 10, static _ => ValueTask.CompletedTask).AsTask();
            }

            Assert.True(Task.WaitAll(runs, Rt.Hang));

            Thread.Sleep(1); // the CPUs go idle and hand their free batches to the cache
            reused = rt.TasksRetired;
        }

        Assert.True(reused > 0, "no task object was retired to the cache");
        for (int i = 0; i < 64; i++)
        {
            rt.RunAsync(null, 10, static _ => ValueTask.CompletedTask).AsTask().Wait(Rt.Hang); // takes batches from the cache
        }

        rt.DisposeAsync().AsTask().Wait(Rt.Hang);
        return new WeakReference(rt);
    }
}
