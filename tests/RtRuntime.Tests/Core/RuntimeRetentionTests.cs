using System.Runtime.CompilerServices;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// A stopped runtime is garbage once the application drops it: nothing outside it (thread statics,
/// static events, timers) keeps it reachable. In particular a thread that spawned with
/// <see cref="RtScheduler.RunAsync"/> keeps, in its thread statics, the cached task objects it took;
/// that must not keep the runtime (and its cache of up to
/// <see cref="RtSchedulerOptions.TaskCacheCapacity"/> objects) alive for as long as the thread lives.
/// </summary>
public class RuntimeRetentionTests
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

    [Fact]
    public void AStoppedRuntime_ThatRanSpawnedTasksSleepsWaitsAndLocks_IsCollectable()
    {
        WeakReference weak = UseEverythingThenStop();
        for (int i = 0; i < 10 && weak.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        Assert.False(weak.IsAlive, "a stopped runtime is still reachable from a root outside it");
    }

    /// <summary>
    /// Each CPU, <c>rt/timer</c> and <c>rt/balance</c> park on a futex word of native memory. A stop does
    /// not free them (a CPU thread it abandoned may still unpark them), and nothing else did: every
    /// runtime started and stopped left its CPU count plus two words allocated for as long as the
    /// process lived (4 here). They are freed once the runtime is garbage.
    /// </summary>
    [Fact]
    public void AStoppedRuntimesParkerWords_AreFreedOnceItIsGarbage()
    {
        for (int i = 0; i < 10; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers(); // earlier tests' stopped runtimes first: their words are not this one's
        }

        long before = Parker.LiveWords;
        WeakReference weak = StartAndStop(cpus: 2);
        long live = Parker.LiveWords;
        for (int i = 0; i < 10 && (weak.IsAlive || live > before); i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            live = Parker.LiveWords;
        }

        Assert.False(weak.IsAlive, "the stopped runtime is still reachable");
        Assert.True(live <= before, $"{live - before} parker words of a stopped, collected runtime are still allocated");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference StartAndStop(int cpus)
    {
        RtScheduler rt = Rt.Start(cpus);
        Assert.True(rt.DisposeAsync().AsTask().Wait(Rt.Hang), "the stop did not end");
        return new WeakReference(rt);
    }

    /// <summary>
    /// A spawning thread takes every batch of a CPU's stack at once (up to that CPU's share of
    /// <see cref="RtSchedulerOptions.TaskCacheCapacity"/>) and keeps what it has not spawned yet. The
    /// cache listed each thread's taker strongly (for the stop to drop), so a thread that exited (a
    /// ThreadPool thread retired when idle, a worker that ended) left its taker and every task object in
    /// it reachable for as long as the runtime ran: one more stranded batch per thread that ever spawned.
    /// </summary>
    [Fact]
    public async Task TaskObjectsTakenByAThreadThatExited_AreNotKeptByTheRunningRuntime()
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        const int Objects = 64;
        var weak = new List<WeakReference>();
        int done = 0;
        RunOnAThreadOfItsOwn(() =>
        {
            for (int i = 0; i < Objects; i++)
            {
                rt.RunAsync(null, 10, ctx =>
                {
                    lock (weak)
                    {
                        weak.Add(new WeakReference(ctx.Task));
                    }

                    Interlocked.Increment(ref done);
                    return ValueTask.CompletedTask;
                }).Forget();
            }

            SpinUntil(() => Volatile.Read(ref done) == Objects && rt.Cpus[0].IsIdle); // all retired, the free list pushed to the cache
        });
        Assert.True(rt.TasksRetired > 0, "no task object was retired to the cache");

        RunOnAThreadOfItsOwn(() =>
        {
            rt.RunAsync(null, 10, _ =>
            {
                Interlocked.Increment(ref done);
                return ValueTask.CompletedTask;
            }).Forget(); // takes every batch of the stack, spawns one of them
            SpinUntil(() => Volatile.Read(ref done) == Objects + 1 && rt.Cpus[0].IsIdle);
        });

        // rt/balance's stall watch remembers the task it last saw running on each CPU until its next
        // pass; two passes with the CPU idle let go of one of the first thread's tasks seen there.
        long passes = Volatile.Read(ref rt.Rebalancer.Passes);
        SpinUntil(() => Volatile.Read(ref rt.Rebalancer.Passes) >= passes + 2);

        int alive = 0;
        for (int round = 0; round < 10; round++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            alive = weak.Count(w => w.IsAlive);
            if (alive <= 1)
            {
                break;
            }
        }

        // At most the one the second thread spawned, which its CPU gave back to the cache.
        Assert.True(alive <= 1, $"{alive} of {Objects} task objects taken by threads that have exited are still reachable from the running runtime");
    }

    private static void RunOnAThreadOfItsOwn(Action action)
    {
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                action();
            }
            catch (Exception e)
            {
                error = e;
            }
        })
        { IsBackground = true };
        thread.Start();
        Assert.True(thread.Join(Rt.Hang), "the spawning thread did not finish");
        Assert.Null(error);
    }

    private static void SpinUntil(Func<bool> condition)
    {
        Assert.True(SpinWait.SpinUntil(condition, Rt.Hang), "timed out");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference UseEverythingThenStop()
    {
        RtScheduler rt = Rt.Start(cpus: 2);
        var ev = new RtEvent();
        var sem = new RtSemaphore(0);
        var counter = new RtRuntime.PerCpu.PerCpuCounter(rt);
        var local = new RtRuntime.PerCpu.LocalLock(rt);
        RtTask waiter = rt.Spawn("waiter", 20, async ctx =>
        {
            await ev.WaitAsync(ctx);
            await sem.WaitAsync(ctx);
            await Task.Delay(1); // a foreign await: the continuation comes back through the task's context
        });
        RtTask worker = rt.Spawn("worker", 10, async ctx =>
        {
            await ctx.Sleep(TimeSpan.FromMilliseconds(1));
            counter.Increment(ctx);
            using (await local.LockAsync(ctx))
            {
                await ctx.PreemptionPoint();
            }

            ev.Set();
            sem.Release();
        });
        Assert.True(Task.WaitAll([waiter.AsTask(), worker.AsTask()], Rt.Hang));
        rt.DisposeAsync().AsTask().Wait(Rt.Hang);
        return new WeakReference(rt);
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
