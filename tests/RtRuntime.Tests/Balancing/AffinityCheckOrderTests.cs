using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Balancing;

/// <summary>
/// __set_cpus_allowed_ptr_locked's order: a request for the mask the task already has returns 0 before
/// any other check (cpumask_equal), so it is neither EINVAL (no active CPU) nor EBUSY (self-issued while
/// pinned), and it does not wait for an earlier request's pending move. The simulator (SimEngine.SetAffinity)
/// has the same order.
/// </summary>
public class AffinityCheckOrderTests
{
    [Fact]
    public async Task SetAffinity_SameMask_SleeperWhoseCpusWentOffline_CompletesAtOnceInsteadOfEinval()
    {
        await using var rt = Rt.Start(cpus: 3);
        var wake = new RtEvent();
        var t = rt.Spawn("T", 10, async ctx => await wake.WaitAsync(ctx), affinity: CpuSet.Of(1));
        await Rt.Until(() => t.State == RtTaskState.Blocked, "T asleep");
        await rt.OfflineAsync(1).WithTimeout();
        await rt.OfflineAsync(2).WithTimeout();
        Assert.Equal(CpuSet.Of(1), t.Affinity); // a sleeper's mask is widened at its wakeup, not now

        Task<bool> same = rt.SetAffinityAsync(t, CpuSet.Of(1)); // threw ArgumentOutOfRangeException (no active CPU) before
        Assert.True(same.IsCompletedSuccessfully);
        Assert.True(await same);

        // A mask that changes is still checked: no active CPU in it is EINVAL, the mask unchanged.
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = rt.SetAffinityAsync(t, CpuSet.Of(2)); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = rt.SetAffinityAsync(t, CpuSet.Of(1, 2)); });
        Assert.Equal(CpuSet.Of(1), t.Affinity);

        wake.Set();
        await t.WithTimeout();
    }

    [Fact]
    public async Task SetAffinity_SameMaskSelfIssuedWhilePinnedOutsideIt_CompletesAtOnceInsteadOfEbusy()
    {
        await using var rt = Rt.Start(cpus: 2);
        int pinnedOn = -1;
        int requested = 0;
        var t = rt.Spawn<(Exception? Error, bool Completed, CpuSet Mask)>("T", 10, async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                Volatile.Write(ref pinnedOn, ctx.CpuId);
                await ctx.SpinUntil(() => Volatile.Read(ref requested) == 1, "the other CPU requested");
                Exception? error = null;
                bool completed = false;
                try
                {
                    // The mask it already has (set by the request from outside, whose move waits for this
                    // section's end): the kernel returns 0 before its EBUSY check.
                    completed = rt.SetAffinityAsync(ctx.Task, CpuSet.Of(1 - ctx.CpuId)).IsCompletedSuccessfully;
                }
                catch (InvalidOperationException e)
                {
                    error = e;
                }

                return (error, completed, ctx.Task.Affinity);
            }
        });
        await Rt.Until(() => Volatile.Read(ref pinnedOn) >= 0, "T pinned");
        Task<bool> earlier = rt.SetAffinityAsync(t, CpuSet.Of(1 - pinnedOn));
        Assert.False(earlier.IsCompleted); // deferred to the outermost migrate_enable
        Volatile.Write(ref requested, 1);

        var r = await t.WithTimeout();
        Assert.Null(r.Error);
        Assert.True(r.Completed);
        Assert.Equal(CpuSet.Of(1 - pinnedOn), r.Mask);
        Assert.True(await earlier.WithTimeout());
    }

    [Fact]
    public async Task SetAffinity_SameMaskWhileAnEarlierMoveIsPending_CompletesAtOnceEarlierStillWaits()
    {
        await using var rt = Rt.Start(cpus: 2);
        int pinnedOn = -1;
        int release = 0;
        var t = rt.Spawn("T", 10, async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                Volatile.Write(ref pinnedOn, ctx.CpuId);
                await ctx.SpinUntil(() => Volatile.Read(ref release) == 1, "released");
            }

            await ctx.PreemptionPoint();
        });
        await Rt.Until(() => Volatile.Read(ref pinnedOn) >= 0, "T pinned");
        var outside = CpuSet.Of(1 - pinnedOn);
        Task<bool> earlier = rt.SetAffinityAsync(t, outside);
        Assert.False(earlier.IsCompleted); // deferred to the outermost migrate_enable

        Task<bool> same = rt.SetAffinityAsync(t, outside); // waited with the earlier one before
        Assert.True(same.IsCompletedSuccessfully);
        Assert.True(await same);
        Assert.False(earlier.IsCompleted); // the earlier caller still waits for the move

        Volatile.Write(ref release, 1);
        Assert.True(await earlier.WithTimeout());
        await t.WithTimeout();
    }
}
