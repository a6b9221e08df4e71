using System.Runtime.CompilerServices;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Balancing;

/// <summary>
/// set_cpus_allowed_ptr against a task that blocks as the request sees it running: the task's block
/// looked for a pending request before the request was made, and the request saw the task running
/// (it raised the stop work on the task's CPU, which only moves the task running there). The task
/// then blocked, migratable, with the request pending: nothing completed it until the task woke and
/// ran inside the new mask, while a request that finds the task blocked completes at once (the
/// kernel's migration_cpu_stop sets the wake CPU of a task that is no longer running and completes).
/// Found by review helper-111.
/// </summary>
public class AffinityBlockRaceTests
{
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_stripeLocks")]
    private static extern ref Lock[] StripeLocksOf(RtScheduler rt);

    [Fact]
    public async Task SetAffinity_TaskBlockingWhileTheRequestSeesItRunning_CompletesOnceItHasBlocked()
    {
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.StallThreshold = Rt.NoStallProbe;
        });
        var never = new RtEvent();
        RtTask t;
        Task move;
        Lock[] stripes = StripeLocksOf(rt);
        using (new ThreadHold(
            whileHeld =>
            {
                foreach (Lock l in stripes)
                {
                    l.Enter();
                }

                whileHeld();
                foreach (Lock l in stripes)
                {
                    l.Exit();
                }
            },
            "hold registry"))
        {
            // Its first block stops at the registry (Register, after the block's look for a pending
            // request and before it publishes Blocked): the task is still running on cpu0.
            t = rt.Spawn("T", 10, async ctx => await never.WaitAsync(ctx), affinity: CpuSet.Of(0));
            await Rt.Until(() => Volatile.Read(ref t.Registered), "T in its first block, at the registry");
            Assert.Equal(TaskRunState.Running, Volatile.Read(ref t.Run));

            move = rt.SetAffinityAsync(t, CpuSet.Of(1));
            Assert.False(move.IsCompleted); // running on cpu0, outside {1}
        }

        await Rt.Until(() => t.State == RtTaskState.Blocked, "T blocked");
        await move.WithTimeout(); // blocked and migratable: its wakeup places it inside {1}
        Assert.Equal(CpuSet.Of(1), t.AffinityMask);

        never.Set();
        await t.WithTimeout();
    }
}
