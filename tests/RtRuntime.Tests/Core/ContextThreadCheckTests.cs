using System.Runtime.CompilerServices;
using RtRuntime.Cpus;
using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// The context's thread check (TaskContext.CurrentTaskOf) is exact: a context is refused on any thread
/// that is not its CPU's thread running its task, including another CPU's thread and its own CPU's
/// thread while that runs another task, and accepted on every CPU a task moves to. (Kept for any
/// cheaper form of the check: one that reads the CPU thread's stack bounds instead of the
/// thread-static was tried and measured slower in guard loops, where the JIT hoists the thread-static.)
/// </summary>
public class ContextThreadCheckTests
{
    [Fact]
    public async Task Context_UsedByAnotherCpusTaskWhileItsTaskRuns_IsRefused()
    {
        await using RtScheduler rt = Rt.Start(cpus: 2);
        (RtTask a, TaskContext aContext, StrongBox<int> release) = await SpawnSpinnerOnCpu0Async(rt);

        List<string> wrong = await rt.Spawn("b", 50, ctx => new ValueTask<List<string>>(CallsThatMustBeRefused(aContext)), affinity: CpuSet.Of(1)).WithTimeout();

        Volatile.Write(ref release.Value, 1);
        await a.WithTimeout();
        Assert.Empty(wrong);
    }

    [Fact]
    public async Task Context_UsedByItsOwnCpusThreadRunningAnotherTask_IsRefused()
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        TaskContext? aContext = null;
        var wake = new RtEvent();
        RtTask a = rt.Spawn("a", 50, async ctx =>
        {
            aContext = ctx;
            await wake.WaitAsync(ctx); // blocked on cpu0, its CPU, while b runs there
        });
        await Rt.Until(() => a.State == RtTaskState.Blocked, "a blocked");

        List<string> wrong = await rt.Spawn("b", 50, ctx => new ValueTask<List<string>>(CallsThatMustBeRefused(aContext!.Value))).WithTimeout();

        wake.Set();
        await a.WithTimeout();
        Assert.Empty(wrong);
    }

    [Fact]
    public async Task Context_UsedByAThreadOffTheRuntimeWhileItsTaskRuns_IsRefused()
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        (RtTask a, TaskContext aContext, StrongBox<int> release) = await SpawnSpinnerOnCpu0Async(rt);

        List<string> wrong = CallsThatMustBeRefused(aContext);

        Volatile.Write(ref release.Value, 1);
        await a.WithTimeout();
        Assert.Empty(wrong);
    }

    [Fact]
    public async Task Context_OfATaskMovedBetweenCpusManyTimes_IsAcceptedOnEachCpuItRunsOn()
    {
        await using RtScheduler rt = Rt.Start(cpus: 2);
        var counter = new PerCpuCounter(rt);
        var cpusSeen = new HashSet<int>();
        await rt.Spawn("mover", 50, async ctx =>
        {
            for (int i = 0; i < 200; i++)
            {
                await rt.SetAffinityAsync(ctx.Task, CpuSet.Of(i % 2));
                await ctx.PreemptionPoint();
                using (ctx.MigrateDisable())
                {
                    cpusSeen.Add(ctx.CpuId);
                    counter.Add(ctx, 1);
                }
            }
        }).WithTimeout();

        Assert.Equal(200, counter.Sum());
        Assert.Equal([0, 1], cpusSeen.Order());
    }

    /// <summary>A task "a" running on cpu0, passing preemption points until its release is set; with its context.</summary>
    private static async Task<(RtTask Task, TaskContext Context, StrongBox<int> Release)> SpawnSpinnerOnCpu0Async(RtScheduler rt)
    {
        TaskContext? context = null;
        var release = new StrongBox<int>();
        RtTask a = rt.Spawn("a", 50, async ctx =>
        {
            context = ctx;
            await ctx.SpinUntil(() => Volatile.Read(ref release.Value) != 0, "released");
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => a.State == RtTaskState.Running && context is not null, "a running on cpu0");
        return (a, context!.Value, release);
    }

    /// <summary>Each call made with <paramref name="context"/> on the calling thread; one line per call that was not refused as expected.</summary>
    private static List<string> CallsThatMustBeRefused(TaskContext context)
    {
        const string expected = "was used off its CPU";
        var calls = new (string Name, Action Call)[]
        {
            ("PreemptDisable", () => context.PreemptDisable()),
            ("MigrateDisable", () => context.MigrateDisable()),
            ("Yield", () => context.Yield()),
            ("CpuId", () => _ = context.CpuId),
            ("SetPriority", () => context.SetPriority(60)),
        };
        var wrong = new List<string>();
        foreach ((string name, Action call) in calls)
        {
            try
            {
                call();
                wrong.Add(name + ": no exception");
            }
            catch (InvalidOperationException e) when (e.Message.Contains(expected, StringComparison.Ordinal))
            {
            }
            catch (Exception e)
            {
                wrong.Add($"{name}: {e.GetType().Name}: {e.Message}");
            }
        }

        return wrong;
    }
}
