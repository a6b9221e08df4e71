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
