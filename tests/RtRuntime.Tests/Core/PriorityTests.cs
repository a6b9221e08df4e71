using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>Priority order on one CPU: highest first, FIFO within a priority, equal priority never preempts.</summary>
public class PriorityTests
{
    [Fact]
    public async Task Spawn_QueuedBehindRunningGate_RunHighestFirstAndFifoWithinPriority()
    {
        await using var rt = Rt.Start(cpus: 1);
        var log = new EventLog();
        var spawned = new List<RtTask>();
        (string Name, int Prio)[] plan = [("a10", 10), ("b50", 50), ("c10", 10), ("d90", 90), ("e50", 50), ("f1", 1), ("g10", 10), ("h98", 98)];

        // The gate holds the only CPU at priority 99 while it spawns, so every task queues.
        var gate = rt.Spawn("gate", 99, ctx =>
        {
            foreach ((string name, int prio) in plan)
            {
                spawned.Add(rt.Spawn(name, prio, _ =>
                {
                    log.Add(name);
                    return ValueTask.CompletedTask;
                }));
            }

            log.Add("gate");
            return ValueTask.CompletedTask;
        });
        await gate.WithTimeout();
        await spawned.AllWithTimeout();

        Assert.Equal(["gate", "h98", "d90", "b50", "e50", "a10", "c10", "g10", "f1"], log.Snapshot());
    }

    [Fact]
    public async Task Spawn_FromOtherThreadWhileGateBusy_QueuesAndRunsByPriorityAfterGate()
    {
        await using var rt = Rt.Start(cpus: 1);
        var log = new EventLog();
        var gateRunning = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // The gate stays busy on the CPU (passing preemption points) until the test has spawned everything.
        var gate = rt.Spawn("gate", 99, async ctx =>
        {
            log.Add("gate:start");
            gateRunning.SetResult();
            await ctx.SpinUntil(() => release.Task.IsCompleted, "released");
            log.Add("gate:end");
        });
        await gateRunning.Task.WithTimeout();

        var spawned = new List<RtTask>();
        (string Name, int Prio)[] plan = [("x20", 20), ("y99", 99), ("z60", 60), ("w20", 20), ("v60", 60)];
        foreach ((string name, int prio) in plan)
        {
            spawned.Add(rt.Spawn(name, prio, _ =>
            {
                log.Add(name);
                return ValueTask.CompletedTask;
            }));
        }

        Assert.All(spawned, t => Assert.Equal(RtTaskState.Runnable, t.State));
        release.SetResult();
        await gate.WithTimeout();
        await spawned.AllWithTimeout();

        // y99 has the gate's priority: equal priority never preempts, it runs after the gate.
        Assert.Equal(["gate:start", "gate:end", "y99", "z60", "v60", "x20", "w20"], log.Snapshot());
        Assert.Equal(0, gate.Preemptions);
    }

    [Fact]
    public async Task Yield_TwoFifoTasksOfSamePriority_AlternateAndLowerPriorityWaits()
    {
        await using var rt = Rt.Start(cpus: 1);
        var log = new EventLog();
        var spawned = new List<RtTask>();

        Func<TaskContext, ValueTask> Yielder(string name) => async ctx =>
        {
            for (int i = 0; i < 3; i++)
            {
                log.Add(name + i);
                await ctx.Yield();
            }
        };

        var gate = rt.Spawn("gate", 99, ctx =>
        {
            spawned.Add(rt.Spawn("low", 10, _ =>
            {
                log.Add("low");
                return ValueTask.CompletedTask;
            }));
            spawned.Add(rt.Spawn("A", 20, Yielder("A")));
            spawned.Add(rt.Spawn("B", 20, Yielder("B")));
            return ValueTask.CompletedTask;
        });
        await gate.WithTimeout();
        await spawned.AllWithTimeout();

        // sched_yield goes to the tail of the task's own priority: never below it.
        Assert.Equal(["A0", "B0", "A1", "B1", "A2", "B2", "low"], log.Snapshot());
        Assert.All(spawned, t => Assert.Equal(0, t.Preemptions));
    }

    [Fact]
    public async Task Yield_AloneAtItsPriority_KeepsCpuOverLowerPriority()
    {
        await using var rt = Rt.Start(cpus: 1);
        var log = new EventLog();
        RtTask? low = null;
        var high = rt.Spawn("high", 50, async ctx =>
        {
            low = rt.Spawn("low", 10, _ =>
            {
                log.Add("low");
                return ValueTask.CompletedTask;
            });
            for (int i = 0; i < 5; i++)
            {
                await ctx.Yield();
                log.Add("high" + i);
            }
        });
        await high.WithTimeout();
        await low!.WithTimeout();

        Assert.Equal(["high0", "high1", "high2", "high3", "high4", "low"], log.Snapshot());
    }
}
