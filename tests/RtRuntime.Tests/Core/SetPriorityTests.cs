using RtRuntime.Cpus;
using RtRuntime.PerCpu;
using RtRuntime.Scheduling;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// A task setting its own priority (<see cref="TaskContext.SetPriority"/>, sched_setparam on itself):
/// the switch it makes due happens at its next preemption point, a raise keeps lower tasks off its CPU,
/// a priority-inheritance boost outlives a lower setting until the lock is released, and a drop has the
/// rebalancer bring a task waiting on another CPU (prio_changed_rt's pull).
/// </summary>
public class SetPriorityTests
{
    [Fact]
    public async Task Lowering_BelowAQueuedTask_SwitchesToItAtTheNextPreemptionPoint()
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        int uRan = 0;
        RtTask? u = null;
        RtTask<(int Base, int Effective, int URanBefore, int URanAfter)> t = rt.Spawn("t", 50, async ctx =>
        {
            u = rt.Spawn("u", 40, _ =>
            {
                Volatile.Write(ref uRan, 1);
                return ValueTask.CompletedTask;
            });
            await ctx.SpinUntil(() => u.State == RtTaskState.Runnable, "u queued behind t");
            ctx.SetPriority(30);
            int before = Volatile.Read(ref uRan); // no switch inside the call
            await ctx.PreemptionPoint(); // u (40) outranks t (30) now: it runs here
            return (ctx.Task.BasePriority, ctx.Task.EffectivePriority, before, Volatile.Read(ref uRan));
        });

        Assert.Equal((30, 30, 0, 1), await t.WithTimeout());
        await u!.WithTimeout();
    }

    [Fact]
    public async Task Raising_AboveATaskWokenLater_KeepsItOffTheCpuUntilTheTaskEnds()
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        int uRan = 0;
        int raised = 0;
        RtTask<int> t = rt.Spawn<int>("t", 20, async ctx =>
        {
            ctx.SetPriority(60);
            Volatile.Write(ref raised, 1);
            await ctx.SpinUntil(() => Volatile.Read(ref uRan) == -1, "u queued"); // set below, before u can run
            for (int i = 0; i < 1000; i++)
            {
                await ctx.PreemptionPoint();
            }

            return Volatile.Read(ref uRan);
        });
        await Rt.Until(() => Volatile.Read(ref raised) == 1, "t raised itself to 60");
        RtTask u = rt.Spawn("u", 40, _ =>
        {
            Volatile.Write(ref uRan, 1);
            return ValueTask.CompletedTask;
        });
        Volatile.Write(ref uRan, -1);

        Assert.Equal(-1, await t.WithTimeout()); // u (40) never ran while t (60, spawned at 20) did
        await u.WithTimeout();
        Assert.Equal(1, Volatile.Read(ref uRan));
    }

    [Fact]
    public async Task ABoost_OutlivesALowerSetting_AndASettingAboveItWins_UntilTheLockIsReleased()
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        var ll = new LocalLock(rt, "ll");
        int locked = 0;
        RtTask? h = null;
        RtTask<int[]> t = rt.Spawn<int[]>("t", 20, async ctx =>
        {
            var seen = new List<int>();
            using (await ll.LockAsync(ctx))
            {
                Volatile.Write(ref locked, 1);
                await ctx.SpinUntil(() => ctx.Task.EffectivePriority == 50, "h (50) waits for the lock, boosting t");
                ctx.SetPriority(10);
                seen.Add(ctx.Task.BasePriority);
                seen.Add(ctx.Task.EffectivePriority); // still 50: h waits
                ctx.SetPriority(70);
                seen.Add(ctx.Task.EffectivePriority); // its own 70 is above the boost
                ctx.SetPriority(10);
                seen.Add(ctx.Task.EffectivePriority); // back to the boost
            }

            seen.Add(ctx.Task.EffectivePriority); // the lock went to h: its own 10
            return seen.ToArray();
        });
        await Rt.Until(() => Volatile.Read(ref locked) == 1, "t holds the lock");
        h = rt.Spawn("h", 50, async ctx =>
        {
            using (await ll.LockAsync(ctx))
            {
            }
        });

        int[] seen = await t.WithTimeout();
        Assert.Equal([10, 50, 70, 50, 10], seen);
        await h.WithTimeout();
    }

    [Fact]
    public async Task Lowering_BelowATaskWaitingOnAnotherCpu_HasTheRebalancerBringItHere()
    {
        // cpu1 runs H (90, pinned) with M (40, allowed anywhere) queued behind it; cpu0 runs T (50). The
        // tick is 10 s, so only the drop's own event brings M to cpu0 within the test.
        await using RtScheduler rt = StartWithLongTick();
        var busy = new BusyUntilStopped();
        int lower = 0;
        RtTask h = rt.Spawn("h", 90, busy.Body, affinity: CpuSet.Of(1));
        RtTask t = rt.Spawn("t", 50, async ctx =>
        {
            await ctx.SpinUntil(() => Volatile.Read(ref lower) == 1, "told to lower itself");
            ctx.SetPriority(10);
            await busy.Body(ctx);
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => h.State == RtTaskState.Running && t.State == RtTaskState.Running, "h and t running");
        RtTask m = rt.Spawn("m", 40, busy.Body, affinity: CpuSet.Of(1));
        await Rt.Until(() => Rt.QueuedOn(rt.Cpus[1], m), "m in cpu1's run queue");
        await rt.SetAffinityAsync(m, CpuSet.Of(0, 1)).WithTimeout(); // still queued on cpu1: cpu0 runs a 50
        long dropsBefore = rt.Rebalancer.EventCount(BalanceReason.PriorityChanged);

        Volatile.Write(ref lower, 1);
        await Rt.Until(() => m.State == RtTaskState.Running && m.CurrentCpu == 0, "m running on cpu0");
        Assert.Equal(dropsBefore + 1, rt.Rebalancer.EventCount(BalanceReason.PriorityChanged));
        Assert.Equal((10, 10), (t.BasePriority, t.EffectivePriority));

        busy.Stop();
        await Task.WhenAll(h.WithTimeout(), t.WithTimeout(), m.WithTimeout());
    }

    [Fact]
    public async Task Raising_AboveATaskQueuedToPreemptIt_HasTheRebalancerMoveThatTaskToALowerCpu()
    {
        // cpu1 runs L (30); T (20) runs preempt-disabled on cpu0 when U (40, allowed anywhere) wakes: U goes
        // to cpu0, the lowest CPU, to preempt T when its section ends. T raises itself to 50 first: U now
        // waits behind a higher task while cpu1 runs a lower one. The 10 s tick leaves the move to the event.
        await using RtScheduler rt = StartWithLongTick();
        var busy = new BusyUntilStopped();
        RtTask? u = null;
        long changesBefore = rt.Rebalancer.EventCount(BalanceReason.PriorityChanged);
        RtTask l = rt.Spawn("l", 30, busy.Body, affinity: CpuSet.Of(1));
        await Rt.Until(() => l.State == RtTaskState.Running, "l running on cpu1");
        RtTask t = rt.Spawn("t", 20, async ctx =>
        {
            using (ctx.PreemptDisable())
            {
                u = rt.Spawn("u", 40, busy.Body);
                ctx.SpinWithoutPointsUntil(() => Rt.QueuedOn(rt.Cpus[0], u), "u queued on cpu0 to preempt t");
                ctx.SetPriority(50);
            }

            await busy.Body(ctx);
        }, affinity: CpuSet.Of(0));

        await Rt.Until(() => u is { State: RtTaskState.Running, CurrentCpu: 1 }, "u running on cpu1");
        Assert.Equal(changesBefore + 1, rt.Rebalancer.EventCount(BalanceReason.PriorityChanged));
        Assert.Equal(RtTaskState.Runnable, l.State); // preempted by u

        busy.Stop();
        await Task.WhenAll(l.WithTimeout(), t.WithTimeout(), u!.WithTimeout());
    }

    /// <summary>Two CPUs whose rebalancer ticks every 10 s: within a test, only an event moves a waiting task.</summary>
    private static RtScheduler StartWithLongTick() => Rt.Start(o =>
    {
        o.CpuCount = 2;
        o.BalanceTick = TimeSpan.FromSeconds(10);
        o.StallThreshold = Rt.NoStallProbe;
    });

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    [InlineData(-1)]
    public async Task APriorityOutside1To99_ThrowsNamingTheArgumentAndValue_AndTheTaskKeepsItsPriority(int priority)
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        RtTask<(Exception? Error, int Base)> t = rt.Spawn<(Exception?, int)>("t", 30, ctx =>
        {
            Exception? error = Record.Exception(() => ctx.SetPriority(priority));
            return ValueTask.FromResult<(Exception?, int)>((error, ctx.Task.BasePriority));
        });

        (Exception? error, int basePriority) = await t.WithTimeout();
        var e = Assert.IsType<ArgumentOutOfRangeException>(error);
        Assert.Equal("priority", e.ParamName);
        Assert.Equal(priority, e.ActualValue);
        Assert.Contains("must be 1..99", e.Message, StringComparison.Ordinal);
        Assert.Equal(30, basePriority);
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task ANormalTask_HasNoRtPriorityToSet()
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        RtTask<Exception?> t = rt.Spawn<Exception?>("n", 0, ctx => ValueTask.FromResult<Exception?>(Record.Exception(() => ctx.SetPriority(50))), SchedPolicy.Normal);

        var e = Assert.IsType<InvalidOperationException>(await t.WithTimeout());
        Assert.Contains("Normal task: it has no RT priority to set", e.Message, StringComparison.Ordinal);
        Assert.Equal((0, 0), (t.BasePriority, t.EffectivePriority));
    }

    [Fact]
    public async Task PriorityZero_IsAcceptedForANormalTask_AndChangesNothing_ButRefusedForAnRtTask()
    {
        // sched_setparam(pid, {0}) on a SCHED_OTHER task succeeds and changes nothing; on SCHED_FIFO it is EINVAL.
        await using RtScheduler rt = Rt.Start(cpus: 1);
        RtTask<Exception?> own = rt.Spawn<Exception?>("n", 0, ctx => ValueTask.FromResult<Exception?>(Record.Exception(() => ctx.SetPriority(0))), SchedPolicy.Normal);
        Assert.Null(await own.WithTimeout());

        var gate = new RtEvent();
        RtTask normal = rt.Spawn("n2", 0, async ctx => await gate.WaitAsync(ctx), SchedPolicy.Normal);
        RtTask fifo = rt.Spawn("f", 10, async ctx => await gate.WaitAsync(ctx));
        await Rt.Until(() => gate.WaiterCount == 2, "both waiting");
        rt.SetPriority(normal, 0);
        Assert.Equal((SchedPolicy.Normal, 0, 0), (normal.Policy, normal.BasePriority, normal.EffectivePriority));
        Assert.Equal(0, Assert.Throws<ArgumentOutOfRangeException>(() => rt.SetPriority(fifo, 0)).ActualValue);
        Assert.Equal(10, fifo.BasePriority);

        gate.Set();
        await Task.WhenAll(normal.WithTimeout(), fifo.WithTimeout());
    }
}
