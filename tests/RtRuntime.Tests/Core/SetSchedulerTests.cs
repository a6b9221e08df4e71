using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// A task's policy and priority set together (<see cref="RtScheduler.SetScheduler"/> from any thread,
/// <see cref="TaskContext.SetScheduler"/> on itself: sched_setscheduler, <c>chrt -p</c>): a running FIFO
/// task demoted to the normal class yields to any RT task at its next point, a queued normal task
/// promoted to FIFO runs ahead of lower RT tasks, a running FIFO task made round-robin starts rotating
/// with an equal RR task, and bad input names the argument.
/// </summary>
public class SetSchedulerTests
{
    [Fact]
    public async Task Demoting_ARunningFifoTaskToNormal_FromAnotherThread_LetsALowerRtTaskRun()
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        int uRan = 0;
        RtTask? u = null;
        RtTask<(SchedPolicy, int, int)> t = rt.Spawn<(SchedPolicy, int, int)>("runaway", 50, async ctx =>
        {
            u = rt.Spawn("u", 10, _ =>
            {
                Volatile.Write(ref uRan, 1);
                return ValueTask.CompletedTask;
            });
            await ctx.SpinUntil(() => Volatile.Read(ref uRan) == 1, "u (FIFO 10) ran: the runaway was demoted below it");
            return (ctx.Task.Policy, ctx.Task.BasePriority, ctx.Task.EffectivePriority);
        });
        await Rt.Until(() => u is not null && Rt.QueuedOn(rt.Cpus[0], u) && t.State == RtTaskState.Running, "t running, u queued behind it");

        rt.SetScheduler(t, SchedPolicy.Normal, 0);

        Assert.Equal((SchedPolicy.Normal, 0, 0), await t.WithTimeout());
        await u!.WithTimeout();
    }

    [Fact]
    public async Task Promoting_AQueuedNormalTaskToFifo_RunsItAheadOfALowerFifoTask()
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        var order = new List<string>();
        RtTask? n = null;
        RtTask? l = null;
        int release = 0;
        RtTask r = rt.Spawn("r", 90, async ctx =>
        {
            n = rt.Spawn("n", 0, _ => Record(order, "n"), SchedPolicy.Normal);
            l = rt.Spawn("l", 10, _ => Record(order, "l"));
            await ctx.SpinUntil(() => Volatile.Read(ref release) == 1, "released");
        });
        await Rt.Until(() => n is not null && l is not null && Rt.QueuedOn(rt.Cpus[0], n) && Rt.QueuedOn(rt.Cpus[0], l), "n and l queued behind r");

        rt.SetScheduler(n!, SchedPolicy.Fifo, 20);

        Assert.Equal((SchedPolicy.Fifo, 20, 20), (n!.Policy, n.BasePriority, n.EffectivePriority)); // requeued at once
        Volatile.Write(ref release, 1);
        await Task.WhenAll(r.WithTimeout(), n.WithTimeout(), l!.WithTimeout());
        Assert.Equal(["n", "l"], order); // unpromoted, the normal task would run last
    }

    [Fact]
    public async Task MakingARunningFifoTaskRoundRobin_RotatesItWithAnEqualRoundRobinTask()
    {
        await using RtScheduler rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.RoundRobinSlice = TimeSpan.FromMilliseconds(1);
        });
        int uRan = 0;
        RtTask? u = null;
        RtTask t = rt.Spawn("t", 40, async ctx =>
        {
            u = rt.Spawn("u", 40, _ =>
            {
                Volatile.Write(ref uRan, 1);
                return ValueTask.CompletedTask;
            }, SchedPolicy.RoundRobin);
            await ctx.SpinUntil(() => Volatile.Read(ref uRan) == 1, "u ran: t, now RR, gave up the CPU at its slice's end");
        });
        await Rt.Until(() => u is not null && Rt.QueuedOn(rt.Cpus[0], u) && t.State == RtTaskState.Running, "t running, u queued behind it");

        rt.SetScheduler(t, SchedPolicy.RoundRobin, 40); // as FIFO, t would never let u run

        await t.WithTimeout();
        Assert.Equal(SchedPolicy.RoundRobin, t.Policy);
    }

    [Fact]
    public async Task OnItself_ATaskDemotedToNormal_YieldsToAQueuedRtTaskAtItsNextPoint()
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        var order = new List<string>();
        RtTask t = rt.Spawn("t", 50, async ctx =>
        {
            _ = rt.Spawn("u", 5, _ => Record(order, "u"));
            ctx.SetScheduler(SchedPolicy.Normal, 0);
            Assert.Equal((SchedPolicy.Normal, 0), (ctx.Task.Policy, ctx.Task.EffectivePriority));
            await ctx.PreemptionPoint();
            await Record(order, "t");
        });

        await t.WithTimeout();
        Assert.Equal(["u", "t"], order);
    }

    [Fact]
    public async Task APriorityAlone_FollowsThePolicyOfARequestNotYetApplied_RefusedWhenThatIsNormal_AcceptedWhenItIsRt()
    {
        // Asleep (migratable), a task takes requests from other threads when it wakes; in the kernel each
        // call applies at once, so a sched_setparam after a sched_setscheduler keeps the new policy.
        await using RtScheduler rt = Rt.Start(cpus: 1);
        using var cts = new CancellationTokenSource();
        RtTask a = rt.Spawn("a", 10, async ctx => await ctx.Sleep(TimeSpan.FromDays(1)), cancellationToken: cts.Token);
        RtTask b = rt.Spawn("b", 10, async ctx => await ctx.Sleep(TimeSpan.FromDays(1)), cancellationToken: cts.Token);
        RtTask c = rt.Spawn("c", 0, async ctx => await ctx.Sleep(TimeSpan.FromDays(1)), SchedPolicy.Normal, cancellationToken: cts.Token);
        await Rt.Until(() => a.State == RtTaskState.Blocked && b.State == RtTaskState.Blocked && c.State == RtTaskState.Blocked, "a, b and c asleep");

        rt.SetScheduler(a, SchedPolicy.RoundRobin, 40);
        rt.SetPriority(a, 50);
        rt.SetScheduler(b, SchedPolicy.Normal, 0);
        var refused = Assert.Throws<InvalidOperationException>(() => rt.SetPriority(b, 60));
        Assert.Contains("being made a Normal task", refused.Message, StringComparison.Ordinal);
        Assert.Contains("is a Normal task", Assert.Throws<InvalidOperationException>(() => rt.SetPriority(c, 30)).Message, StringComparison.Ordinal);
        rt.SetScheduler(c, SchedPolicy.Fifo, 20);
        rt.SetPriority(c, 30); // c is being made FIFO: the priority follows that
        Assert.Equal((SchedPolicy.Fifo, 10), (a.Policy, a.BasePriority)); // asleep: not applied yet

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await a.WithTimeout());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await b.WithTimeout());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await c.WithTimeout());
        Assert.Equal((SchedPolicy.RoundRobin, 50), (a.Policy, a.BasePriority));
        Assert.Equal((SchedPolicy.Normal, 0), (b.Policy, b.BasePriority));
        Assert.Equal((SchedPolicy.Fifo, 30), (c.Policy, c.BasePriority));
    }

    [Theory]
    [InlineData(SchedPolicy.Normal, 0, SchedPolicy.Normal, 0, true)]
    [InlineData(SchedPolicy.RoundRobin, 40, SchedPolicy.RoundRobin, 60, false)]
    public async Task AnOwnSetPriority_AfterAnotherThreadsSetSchedulerNotYetApplied_ComesAfterIt(SchedPolicy policy, int priority, SchedPolicy endPolicy, int endPriority, bool refused)
    {
        // t runs without passing a point, so the request waits for its step's end; then t sets its own
        // priority: the kernel would have applied the request first, so the task's own call sees its policy.
        await using RtScheduler rt = Rt.Start(cpus: 1);
        int go = 0;
        RtTask<(bool, SchedPolicy, int)> t = rt.Spawn<(bool, SchedPolicy, int)>("t", 50, ctx =>
        {
            while (Volatile.Read(ref go) == 0)
            {
                Thread.SpinWait(20);
            }

            bool wasRefused = false;
            try
            {
                ctx.SetPriority(60);
            }
            catch (InvalidOperationException e) when (e.Message.Contains("is a Normal task", StringComparison.Ordinal))
            {
                wasRefused = true;
            }

            return ValueTask.FromResult((wasRefused, ctx.Task.Policy, ctx.Task.BasePriority));
        });
        await Rt.Until(() => t.State == RtTaskState.Running, "t running");

        rt.SetScheduler(t, policy, priority);
        Volatile.Write(ref go, 1);

        Assert.Equal((refused, endPolicy, endPriority), await t.WithTimeout());
    }

    [Fact]
    public async Task APolicyChangeAlone_KeepsAQueuedTasksPlace_AndADemotionToNormalGoesToTheTailOfTheNormalClass()
    {
        // Behind r (90): a and b at FIFO 10, n Normal, x FIFO 20. a becomes RR at the same priority (its
        // place stays: no requeue for an unchanged priority), x becomes Normal (behind n: the head
        // placement of a lowered task is an RT-class rule).
        await using RtScheduler rt = Rt.Start(cpus: 1);
        var order = new List<string>();
        RtTask[] queued = [];
        int release = 0;
        RtTask r = rt.Spawn("r", 90, async ctx =>
        {
            queued =
            [
                rt.Spawn("a", 10, _ => Record(order, "a")),
                rt.Spawn("b", 10, _ => Record(order, "b")),
                rt.Spawn("n", 0, _ => Record(order, "n"), SchedPolicy.Normal),
                rt.Spawn("x", 20, _ => Record(order, "x")),
            ];
            await ctx.SpinUntil(() => Volatile.Read(ref release) == 1, "released");
        });
        await Rt.Until(() => queued.Length == 4 && queued.All(q => Rt.QueuedOn(rt.Cpus[0], q)), "a, b, n and x queued behind r");

        rt.SetScheduler(queued[0], SchedPolicy.RoundRobin, 10);
        rt.SetScheduler(queued[3], SchedPolicy.Normal, 0);

        Volatile.Write(ref release, 1);
        await Task.WhenAll([r.WithTimeout(), .. queued.Select(q => q.WithTimeout())]);
        Assert.Equal(["a", "b", "n", "x"], order);
    }

    [Fact]
    public async Task BadInput_IsRefusedNamingTheArgument_AndTheRuntimeGoesOn()
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        await using RtScheduler other = Rt.Start(cpus: 1);
        var gate = new RtEvent();
        RtTask t = rt.Spawn("t", 10, async ctx => await gate.WaitAsync(ctx));
        RtTask foreign = other.Spawn("f", 10, _ => ValueTask.CompletedTask);

        Assert.Equal("task", Assert.Throws<ArgumentNullException>(() => rt.SetScheduler(null!, SchedPolicy.Fifo, 10)).ParamName);
        Assert.Equal("task", Assert.Throws<ArgumentException>(() => rt.SetScheduler(foreign, SchedPolicy.Fifo, 10)).ParamName);
        var normal = Assert.Throws<ArgumentOutOfRangeException>(() => rt.SetScheduler(t, SchedPolicy.Normal, 5));
        Assert.Equal(("priority", (object?)5), (normal.ParamName, normal.ActualValue));
        Assert.Contains("must be 0", normal.Message, StringComparison.Ordinal);
        var rr = Assert.Throws<ArgumentOutOfRangeException>(() => rt.SetScheduler(t, SchedPolicy.RoundRobin, 0));
        Assert.Contains("1..99", rr.Message, StringComparison.Ordinal);
        var policy = Assert.Throws<ArgumentOutOfRangeException>(() => rt.SetScheduler(t, (SchedPolicy)7, 10));
        Assert.Equal(("policy", (object?)(SchedPolicy)7), (policy.ParamName, policy.ActualValue));
        Assert.Equal((SchedPolicy.Fifo, 10), (t.Policy, t.BasePriority)); // unchanged

        RtTask<string> self = rt.Spawn<string>("self", 20, ctx =>
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => ctx.SetScheduler(SchedPolicy.Fifo, 100));
            return ValueTask.FromResult(e.ParamName!);
        });
        Assert.Equal("priority", await self.WithTimeout());

        gate.Set();
        await Task.WhenAll(t.WithTimeout(), foreign.WithTimeout());
        rt.SetScheduler(t, SchedPolicy.Normal, 0); // ended: left as it is
        Assert.Equal(SchedPolicy.Fifo, t.Policy);
    }

    private static ValueTask Record(List<string> order, string name)
    {
        lock (order)
        {
            order.Add(name);
        }

        return ValueTask.CompletedTask;
    }
}
