using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>A task that throws faults its own completion only; the runtime keeps running.</summary>
public class FaultTests
{
    [Fact]
    public async Task Spawn_BodyThrowsSynchronously_TaskFaultsWithThatException()
    {
        await using var rt = Rt.Start(cpus: 1);
        var thrown = new InvalidProgramException("sync");
        var t = rt.Spawn("thrower", 10, _ => throw thrown);

        var e = await Assert.ThrowsAsync<InvalidProgramException>(() => t.WithTimeout());
        Assert.Same(thrown, e);
        Assert.Equal(RtTaskState.Faulted, t.State);
        Assert.Same(thrown, t.Exception);
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task Spawn_BodyThrowsAfterYieldAndSleep_TaskFaultsAndAwaiterRethrows()
    {
        await using var rt = Rt.Start(cpus: 1);
        var t = rt.Spawn<int>("thrower", 10, async ctx =>
        {
            await ctx.Yield();
            await ctx.Sleep(TimeSpan.FromMilliseconds(1));
            throw new DivideByZeroException("async");
        });

        await Assert.ThrowsAsync<DivideByZeroException>(async () => await t);
        Assert.Equal(RtTaskState.Faulted, t.State);
        Assert.Throws<DivideByZeroException>(() => t.Result);
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task Spawn_ManyFaultingTasksAmongGoodOnes_OnlyFaultingOnesFault()
    {
        await using var rt = Rt.Start(cpus: 2);
        var tasks = new List<RtTask<int>>();
        for (int i = 0; i < 200; i++)
        {
            int n = i;
            tasks.Add(rt.Spawn<int>("t" + n, 1 + (n % 90), async ctx =>
            {
                await ctx.Yield();
                if (n % 3 == 0)
                {
                    throw new ArithmeticException("t" + n);
                }

                await ctx.PreemptionPoint();
                return n;
            }));
        }

        foreach (RtTask<int> t in tasks)
        {
            try
            {
                await t.WithTimeout();
            }
            catch (ArithmeticException)
            {
            }
        }

        for (int i = 0; i < tasks.Count; i++)
        {
            if (i % 3 == 0)
            {
                Assert.Equal(RtTaskState.Faulted, tasks[i].State);
                Assert.Equal("t" + i, Assert.IsType<ArithmeticException>(tasks[i].Exception).Message);
            }
            else
            {
                Assert.Equal(RtTaskState.Completed, tasks[i].State);
                Assert.Equal(i, tasks[i].Result);
            }
        }

        await rt.AssertStillRunsTasks();
        Assert.Equal(0, rt.LiveTasks);
    }
}
