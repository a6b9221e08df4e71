using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// SCHED_RR (scenario 38): tasks of one priority share the CPU slice by slice; a lone RR task and FIFO
/// tasks are never time-sliced. Asserted by the order of run segments, never by elapsed time (time
/// only bounds how long a task keeps working).
/// </summary>
public class RoundRobinTests
{
    private static readonly TimeSpan ManySlices = TimeSpan.FromMilliseconds(20);

    private static RtScheduler StartOneCpu() => Rt.Start(o =>
    {
        o.CpuCount = 1;
        o.RoundRobinSlice = TimeSpan.FromMilliseconds(1);
    });

    /// <summary>Passes preemption points for <paramref name="duration"/> (about 20 slices of 1 ms).</summary>
    private static async ValueTask WorkFor(TaskContext ctx, TimeSpan duration)
    {
        long until = RtClock.NowNs() + RtClock.ToNs(duration);
        while (RtClock.NowNs() < until)
        {
            await ctx.PreemptionPoint();
        }
    }

    [Fact]
    public async Task PreemptionPoint_TwoRoundRobinTasksOfSamePriority_AlternateSliceBySlice()
    {
        await using var rt = StartOneCpu();
        var log = new EventLog();
        string? lastRunner = null;
        var segments = new Dictionary<string, int> { ["A"] = 0, ["B"] = 0 };
        var spawned = new List<RtTask>();

        // Each task passes preemption points until the other has had three slices: without slicing
        // the first would never finish (the hang timeout turns that into a failure).
        Func<TaskContext, ValueTask> Worker(string me, string other) => async ctx =>
        {
            while (true)
            {
                if (lastRunner != me)
                {
                    lastRunner = me;
                    segments[me]++;
                    log.Add(me);
                }

                if (segments[other] >= 3)
                {
                    return;
                }

                await ctx.PreemptionPoint();
            }
        };

        var gate = rt.Spawn("gate", 99, _ =>
        {
            spawned.Add(rt.Spawn("A", 20, Worker("A", "B"), SchedPolicy.RoundRobin));
            spawned.Add(rt.Spawn("B", 20, Worker("B", "A"), SchedPolicy.RoundRobin));
            return ValueTask.CompletedTask;
        });
        await gate.WithTimeout();
        await spawned.AllWithTimeout();

        // B ends in its third slice (A has had three); A ends in its fourth.
        Assert.Equal(["A", "B", "A", "B", "A", "B", "A"], log.Snapshot());
        Assert.Equal(3, spawned[0].Preemptions);
        Assert.Equal(2, spawned[1].Preemptions);
    }

    [Fact]
    public async Task PreemptionPoint_RoundRobinWithFifoPeerOfSamePriority_FifoRunsToCompletionUnsliced()
    {
        await using var rt = StartOneCpu();
        var log = new EventLog();
        var fifoDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        RtTask? rr = null, fifo = null;

        var gate = rt.Spawn("gate", 99, _ =>
        {
            rr = rt.Spawn("R", 20, async ctx =>
            {
                log.Add("R:start");
                await ctx.SpinUntil(() => fifoDone.Task.IsCompleted, "F finished"); // only a slice expiry lets F in
                log.Add("R:end");
            }, SchedPolicy.RoundRobin);
            fifo = rt.Spawn("F", 20, async ctx =>
            {
                log.Add("F:start");
                await WorkFor(ctx, ManySlices); // R waits at F's priority all along: F is still never sliced
                log.Add("F:end");
                fifoDone.SetResult();
            });
            return ValueTask.CompletedTask;
        });
        await gate.WithTimeout();
        await rr!.WithTimeout();
        await fifo!.WithTimeout();

        Assert.Equal(["R:start", "F:start", "F:end", "R:end"], log.Snapshot());
        Assert.Equal(0, fifo!.Preemptions);
        Assert.Equal(1, rr!.Preemptions);
    }

    [Fact]
    public async Task PreemptionPoint_TwoFifoTasksOfSamePriority_FirstRunsToCompletion()
    {
        await using var rt = StartOneCpu();
        var log = new EventLog();
        var spawned = new List<RtTask>();
        Func<TaskContext, ValueTask> Worker(string me) => async ctx =>
        {
            log.Add(me + ":start");
            await WorkFor(ctx, ManySlices);
            log.Add(me + ":end");
        };

        var gate = rt.Spawn("gate", 99, _ =>
        {
            spawned.Add(rt.Spawn("A", 20, Worker("A")));
            spawned.Add(rt.Spawn("B", 20, Worker("B")));
            return ValueTask.CompletedTask;
        });
        await gate.WithTimeout();
        await spawned.AllWithTimeout();

        Assert.Equal(["A:start", "A:end", "B:start", "B:end"], log.Snapshot());
        Assert.All(spawned, t => Assert.Equal(0, t.Preemptions));
    }

    [Fact]
    public async Task PreemptionPoint_LoneRoundRobinTaskOverManySlices_NotRequeuedBehindLowerPriority()
    {
        await using var rt = StartOneCpu();
        var log = new EventLog();
        RtTask? rr = null, low = null;

        var gate = rt.Spawn("gate", 99, _ =>
        {
            low = rt.Spawn("low", 10, _ =>
            {
                log.Add("low");
                return ValueTask.CompletedTask;
            }, SchedPolicy.RoundRobin);
            rr = rt.Spawn("R", 20, async ctx =>
            {
                await WorkFor(ctx, ManySlices);
                log.Add("R:end");
            }, SchedPolicy.RoundRobin);
            return ValueTask.CompletedTask;
        });
        await gate.WithTimeout();
        await rr!.WithTimeout();
        await low!.WithTimeout();

        Assert.Equal(["R:end", "low"], log.Snapshot());
        Assert.Equal(0, rr!.Preemptions);
        Assert.Equal(1, rr.Switches);
    }

    [Fact]
    public async Task PreemptionPoint_RoundRobinPreemptedByHigherPriority_ResumesAheadOfItsPeer()
    {
        // A preempted RR task goes back to the head of its priority (it keeps its turn). A long slice
        // keeps slice rotation out of this test.
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.RoundRobinSlice = TimeSpan.FromSeconds(10);
        });
        var log = new EventLog();
        var aRunning = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var highRan = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        RtTask? a = null, b = null;

        var gate = rt.Spawn("gate", 99, _ =>
        {
            a = rt.Spawn("A", 20, async ctx =>
            {
                log.Add("A:start");
                aRunning.SetResult();
                while (!highRan.Task.IsCompleted)
                {
                    // Yield to B would be the tail; a preemption keeps the head.
                    await ctx.PreemptionPoint();
                }

                log.Add("A:end");
            }, SchedPolicy.RoundRobin);
            b = rt.Spawn("B", 20, _ =>
            {
                log.Add("B");
                return ValueTask.CompletedTask;
            }, SchedPolicy.RoundRobin);
            return ValueTask.CompletedTask;
        });
        await gate.WithTimeout();
        await aRunning.Task.WithTimeout();
        var h = rt.Spawn("H", 50, _ =>
        {
            log.Add("H");
            highRan.SetResult();
            return ValueTask.CompletedTask;
        });
        await h.WithTimeout();
        await a!.WithTimeout();
        await b!.WithTimeout();

        Assert.Equal(["A:start", "H", "A:end", "B"], log.Snapshot());
        Assert.Equal(1, a!.Preemptions);
    }
}
