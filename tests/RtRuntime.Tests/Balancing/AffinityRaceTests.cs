using RtRuntime.Cpus;
using RtRuntime.Scheduling;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Balancing;

/// <summary>
/// set_cpus_allowed_ptr against the moves it races with. A request may complete only once the task
/// runs inside the new mask (or can no longer run), and select_fallback_rq widens a mask only when no
/// CPU of it is active: never because the mask changed while the task was leaving a CPU.
/// </summary>
public class AffinityRaceTests
{
    [Fact]
    public async Task SetAffinity_TaskBlockedWhileMigrateDisabled_MaskWithItsCpu_CompletesAtOnce()
    {
        await using var rt = Rt.Start(cpus: 2);
        var wake = new RtEvent();
        RtTask t = await Rt.SpawnPinnedSleeperAsync(rt, "pinned-sleeper", 10, cpu: 1, wake);

        Task inside = rt.SetAffinityAsync(t, CpuSet.Of(0, 1));
        Assert.True(inside.IsCompleted); // it wakes on cpu1, inside the mask (affine_move_task: task_cpu(p) in the mask)
        Task outside = rt.SetAffinityAsync(t, CpuSet.Of(0));
        Assert.False(outside.IsCompleted); // it wakes on cpu1 and leaves at its outermost migrate_enable

        wake.Set();
        await outside.WithTimeout();
        await t.WithTimeout();
    }

    [Fact]
    public async Task SetAffinity_TaskEndsBeforeItReachesAPoint_RequestCompletes()
    {
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.StallThreshold = Rt.NoStallProbe;
        });
        int started = 0;
        int release = 0;
        var t = rt.Spawn("T", 10, _ =>
        {
            Volatile.Write(ref started, 1);
            while (Volatile.Read(ref release) == 0)
            {
                Thread.SpinWait(20); // no preemption point: the move cannot happen before the body ends
            }

            return ValueTask.CompletedTask;
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => Volatile.Read(ref started) == 1, "T running on cpu0");

        Task move = rt.SetAffinityAsync(t, CpuSet.Of(1));
        Assert.False(move.IsCompleted); // running on cpu0, outside {1}: waits for the move
        Volatile.Write(ref release, 1);
        await t.WithTimeout();
        await move.WithTimeout(); // the task is gone: nothing is left to move, the waiter is released
    }

    [Fact]
    public async Task SetAffinity_TaskSwitchedInInsideTheMaskBeforeTheRequestWasPublished_StopWorkCompletesIt()
    {
        // A request that sees its task between CPUs (queued, on no queue yet) publishes its pending
        // completion after that look, under the affinity lock; the task can switch in inside the new mask
        // in between, and its switch-in then finds nothing to complete. The request goes on to raise the
        // stop work on the CPU the task runs on (MoveForAffinity: Running). That window (a few
        // instructions) cannot be forced, so this makes the state it leaves: the task running inside its
        // mask on a CPU of its own, a request pending, the stop work raised. migration_cpu_stop completes
        // such a request (the task is inside the mask); before, it waited for the task's next switch-in,
        // block or end, here for ever.
        await using var rt = Rt.Start(cpus: 2);
        int running = 0;
        int stop = 0;
        var t = rt.Spawn("T", 10, async ctx =>
        {
            _ = ctx.Task.Rare; // made on its own CPU thread, before the test writes into it
            Volatile.Write(ref running, 1);
            while (Volatile.Read(ref stop) == 0)
            {
                await ctx.PreemptionPoint();
            }
        }, affinity: CpuSet.Of(1));
        await Rt.Until(() => Volatile.Read(ref running) == 1, "T running on cpu1");

        var pending = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        t.Rare.AffinityPending = pending; // as the request left it, its look having seen T between CPUs
        rt.Cpus[1].SetPending(PendingWork.Stop); // as MoveForAffinity raises it for a running task
        try
        {
            Assert.True(await pending.Task.WithTimeout());
        }
        finally
        {
            Volatile.Write(ref stop, 1);
        }

        await t.WithTimeout();
    }

    [Fact]
    public async Task SelectFallbackCpu_MaskNowHoldsOnlyTheCpuLeft_StaysThereWithoutWidening()
    {
        await using var rt = Rt.Start(cpus: 2);
        var wake = new RtEvent();
        var t = rt.Spawn("T", 10, async ctx => await wake.WaitAsync(ctx), affinity: CpuSet.Of(0));
        await Rt.Until(() => t.State == RtTaskState.Blocked, "T asleep");

        // A CPU decided the task must leave it (its old mask excluded the CPU); the mask has since
        // changed to that CPU alone. The task may stay: its affinity must not be widened.
        int target = rt.SelectFallbackCpu(t, exclude: rt.Cpus[0]);

        Assert.Equal(0, target);
        Assert.Equal(CpuSet.Of(0), t.Affinity);
        wake.Set();
        await t.WithTimeout();
    }

    [Fact]
    public void AffinityCompletesAtOnce_TaskBetweenCpus_Waits()
    {
        var mask = CpuSet.Of(1);
        Assert.True(BalanceRules.AffinityCompletesAtOnce(settledCpu: 1, offCpu: false, mask));   // runs or queued inside
        Assert.False(BalanceRules.AffinityCompletesAtOnce(settledCpu: 0, offCpu: false, mask));  // settled outside: moves
        Assert.False(BalanceRules.AffinityCompletesAtOnce(settledCpu: -1, offCpu: false, mask)); // in transit: its switch-in decides
        Assert.True(BalanceRules.AffinityCompletesAtOnce(settledCpu: -1, offCpu: true, mask));   // blocked or never placed
    }
}
